/*
 * voice-channel: a telephone or radio channel for testing samizdat's call
 * modem with real speech codecs, as Debian ships them.
 *
 *   voice-channel CHANNEL [options] < IN.wav > OUT.wav
 *
 * CHANNEL: none, amr475, amr515, amr59, amr67, amr74, amr795, amr102,
 * amr122 (AMR-NB through libopencore-amrnb), gsm (GSM 06.10 full rate
 * through libgsm), opus8, opus12 (Opus in VoIP mode through libopus, at
 * 8 or 12 kbit/s), fm (an analog FM radio: 300-3000 Hz, hiss, squelch
 * tails, a limiter).
 *
 * Options:
 *   --dtx          discontinuous transmission with voice activity
 *                  detection (AMR's own; Opus's own; for GSM, the frames
 *                  AMR's VAD finds inactive are replaced by comfort noise,
 *                  as GSM 06.31 does, since libgsm has no VAD)
 *   --loss P       lose P % of codec frames at random (the decoder
 *                  conceals them: AMR's bad-frame handling, GSM 06.11
 *                  substitution and muting, Opus's packet loss concealment)
 *   --gain DB      change the level before the codec
 *   --drift PPM    the sender's clock runs this much fast (or slow, < 0)
 *   --agc          an automatic gain control after the codec
 *   --snr DB       white noise this far below the signal, after the codec
 *   --clip F       clip at F times the peak (0 < F < 1)
 *   --seed N       the seed of every random choice
 *   --stream       raw 16-bit samples in and out, a 20 ms frame at a
 *                  time, for a live call (codecs, loss, DTX and gain only)
 *
 * Input: a WAV file of 16-bit mono PCM at 8 kHz. Output: the same.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsm.h>
#include <opencore-amrnb/interf_dec.h>
#include <opencore-amrnb/interf_enc.h>
#include <opus/opus.h>

#define FRAME 160
#define RATE 8000

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static double uniform(void) {
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double gaussian(void) {
	double u = uniform(), v = uniform();
	if (u < 1e-12)
		u = 1e-12;
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static void die(const char *what) {
	fprintf(stderr, "voice-channel: %s\n", what);
	exit(2);
}

/* Reads a WAV file's samples; any other format is refused. */
static float *read_wav(FILE *in, size_t *count) {
	unsigned char header[12];
	if (fread(header, 1, 12, in) != 12 || memcmp(header, "RIFF", 4) || memcmp(header + 8, "WAVE", 4))
		die("the input is not a WAV file");
	int format_seen = 0;
	for (int chunks = 0; chunks < 64; chunks++) {
		unsigned char chunk[8];
		if (fread(chunk, 1, 8, in) != 8)
			die("the WAV file ends before its data");
		uint32_t size = chunk[4] | chunk[5] << 8 | chunk[6] << 16 | (uint32_t)chunk[7] << 24;
		if (!memcmp(chunk, "fmt ", 4)) {
			unsigned char fmt[16];
			if (size < 16 || fread(fmt, 1, 16, in) != 16)
				die("a short fmt chunk");
			int channels = fmt[2] | fmt[3] << 8;
			uint32_t rate = fmt[4] | fmt[5] << 8 | fmt[6] << 16 | (uint32_t)fmt[7] << 24;
			int bits = fmt[14] | fmt[15] << 8;
			if (channels != 1 || rate != RATE || bits != 16)
				die("the input must be 16-bit mono at 8 kHz");
			for (uint32_t i = 16; i < size + (size & 1); i++)
				fgetc(in);
			format_seen = 1;
		} else if (!memcmp(chunk, "data", 4)) {
			if (!format_seen)
				die("data before the fmt chunk");
			size_t capacity = 1 << 20, n = 0;
			float *samples = malloc(capacity * sizeof(float));
			int16_t buffer[4096];
			size_t got;
			while ((got = fread(buffer, 2, 4096, in)) > 0) {
				if (n + got > capacity) {
					capacity *= 2;
					samples = realloc(samples, capacity * sizeof(float));
				}
				for (size_t i = 0; i < got; i++)
					samples[n++] = buffer[i];
			}
			*count = n;
			return samples;
		} else {
			for (uint32_t i = 0; i < size + (size & 1); i++)
				if (fgetc(in) == EOF)
					die("the WAV file ends in a chunk");
		}
	}
	die("no data chunk");
	return NULL;
}

static void put32(unsigned char *at, uint32_t v) {
	at[0] = v, at[1] = v >> 8, at[2] = v >> 16, at[3] = v >> 24;
}

static void write_wav(FILE *out, const float *samples, size_t n) {
	unsigned char h[44];
	memcpy(h, "RIFF", 4);
	put32(h + 4, 36 + n * 2);
	memcpy(h + 8, "WAVEfmt ", 8);
	put32(h + 16, 16);
	h[20] = 1, h[21] = 0, h[22] = 1, h[23] = 0;
	put32(h + 24, RATE);
	put32(h + 28, RATE * 2);
	h[32] = 2, h[33] = 0, h[34] = 16, h[35] = 0;
	memcpy(h + 36, "data", 4);
	put32(h + 40, n * 2);
	fwrite(h, 1, 44, out);
	for (size_t i = 0; i < n; i++) {
		float s = samples[i];
		int16_t v = s > 32767 ? 32767 : s < -32768 ? -32768 : (int16_t)lrintf(s);
		fwrite(&v, 2, 1, out);
	}
}

static void to_shorts(const float *in, short *out) {
	for (int i = 0; i < FRAME; i++) {
		float s = in[i];
		out[i] = s > 32767 ? 32767 : s < -32768 ? -32768 : (short)lrintf(s);
	}
}

/* A codec, frame by frame: the encoder, the lost frames, the decoder. */
struct codec {
	enum { NONE, AMR, GSM, OPUS } kind;
	int mode, dtx;
	double loss;
	void *amr_enc, *amr_dec, *vad;
	gsm gsm_enc, gsm_dec;
	gsm_frame last;
	int have_last, lost_run;
	float noise_level;
	OpusEncoder *opus_enc;
	OpusDecoder *opus_dec;
};

static void codec_open(struct codec *c, const char *channel, int dtx, double loss) {
	memset(c, 0, sizeof *c);
	c->dtx = dtx;
	c->loss = loss;
	c->noise_level = 30.0f;
	if (!strcmp(channel, "none")) {
		c->kind = NONE;
	} else if (!strncmp(channel, "amr", 3)) {
		static const char *modes[] = {"amr475", "amr515", "amr59", "amr67", "amr74", "amr795", "amr102", "amr122"};
		c->mode = -1;
		for (int m = 0; m < 8; m++)
			if (!strcmp(channel, modes[m]))
				c->mode = m;
		if (c->mode < 0)
			die("an unknown AMR mode");
		c->kind = AMR;
		c->amr_enc = Encoder_Interface_init(dtx);
		c->amr_dec = Decoder_Interface_init();
	} else if (!strcmp(channel, "gsm")) {
		c->kind = GSM;
		c->gsm_enc = gsm_create();
		c->gsm_dec = gsm_create();
		/* libgsm has no VAD: AMR's decides, as GSM 06.32's would. */
		if (dtx)
			c->vad = Encoder_Interface_init(1);
	} else if (!strcmp(channel, "opus8") || !strcmp(channel, "opus12")) {
		int error;
		c->kind = OPUS;
		c->opus_enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &error);
		if (error != OPUS_OK)
			die("opus_encoder_create failed");
		c->opus_dec = opus_decoder_create(RATE, 1, &error);
		if (error != OPUS_OK)
			die("opus_decoder_create failed");
		opus_encoder_ctl(c->opus_enc, OPUS_SET_BITRATE(!strcmp(channel, "opus8") ? 8000 : 12000));
		opus_encoder_ctl(c->opus_enc, OPUS_SET_DTX(dtx));
		opus_encoder_ctl(c->opus_enc, OPUS_SET_PACKET_LOSS_PERC((int)ceil(loss)));
	} else {
		die("an unknown channel");
	}
}

/* One frame of 160 samples through the codec, in place. */
static void codec_frame(struct codec *c, float *x) {
	short pcm[FRAME];
	unsigned char bits[1500];
	to_shorts(x, pcm);
	int lost = c->kind != NONE && uniform() * 100.0 < c->loss;
	switch (c->kind) {
	case NONE:
		return;
	case AMR:
		Encoder_Interface_Encode(c->amr_enc, c->mode, pcm, bits, 0);
		Decoder_Interface_Decode(c->amr_dec, bits, pcm, lost);
		break;
	case GSM: {
		gsm_frame frame;
		gsm_signal s[FRAME];
		memcpy(s, pcm, sizeof s);
		gsm_encode(c->gsm_enc, s, frame);
		if (c->vad) {
			Encoder_Interface_Encode(c->vad, MR122, pcm, bits, 0);
			if ((bits[0] >> 3 & 15) >= 8) {
				/* Comfort noise at the level of what the VAD called noise. */
				double energy = 0;
				for (int i = 0; i < FRAME; i++)
					energy += (double)pcm[i] * pcm[i];
				c->noise_level = 0.9f * c->noise_level + 0.1f * (float)sqrt(energy / FRAME);
				for (int i = 0; i < FRAME; i++)
					x[i] = c->noise_level * gaussian();
				return;
			}
		}
		if (lost) {
			c->lost_run++;
			if (!c->have_last) {
				memset(s, 0, sizeof s);
			} else {
				gsm_decode(c->gsm_dec, c->last, s);
				/* GSM 06.11: repeat the last good frame, then mute. */
				float fade = c->lost_run == 1 ? 1.0f : c->lost_run == 2 ? 0.5f : 0.0f;
				for (int i = 0; i < FRAME; i++)
					s[i] = (gsm_signal)(s[i] * fade);
			}
		} else {
			c->lost_run = 0;
			memcpy(c->last, frame, sizeof c->last);
			c->have_last = 1;
			gsm_decode(c->gsm_dec, frame, s);
		}
		memcpy(pcm, s, sizeof pcm);
		break;
	}
	case OPUS: {
		int len = opus_encode(c->opus_enc, pcm, FRAME, bits, sizeof bits);
		if (len < 0)
			die("opus_encode failed");
		int got = lost || len <= 2 ? opus_decode(c->opus_dec, NULL, 0, pcm, FRAME, 0)
					   : opus_decode(c->opus_dec, bits, len, pcm, FRAME, 0);
		if (got != FRAME)
			memset(pcm, 0, sizeof pcm);
		break;
	}
	}
	for (int i = 0; i < FRAME; i++)
		x[i] = pcm[i];
}

/* A second-order section (RBJ's cookbook), run in place. */
static void biquad(float *x, size_t n, double f0, int highpass) {
	double w = 2 * M_PI * f0 / RATE, q = 0.7071, alpha = sin(w) / (2 * q), c = cos(w);
	double b0 = highpass ? (1 + c) / 2 : (1 - c) / 2, b1 = highpass ? -(1 + c) : 1 - c, b2 = b0;
	double a0 = 1 + alpha, a1 = -2 * c, a2 = 1 - alpha;
	double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
	for (size_t i = 0; i < n; i++) {
		double y = (b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
		x2 = x1, x1 = x[i], y2 = y1, y1 = y;
		x[i] = (float)y;
	}
}

/* An analog FM radio link between two walkie-talkies. */
static void fm(float **samples, size_t *n) {
	/* Squelch tails: the receiver opens a little late and closes late on
	 * a burst of noise. */
	size_t open_late = RATE / 10, tail = RATE / 5, m = *n + tail;
	float *y = calloc(m, sizeof(float));
	for (size_t i = 0; i < *n; i++)
		y[i] = i < open_late ? 0 : (*samples)[i];
	for (int k = 0; k < 2; k++) {
		biquad(y, *n, 300, 1);
		biquad(y, *n, 3000, 0);
	}
	double energy = 0;
	for (size_t i = 0; i < *n; i++)
		energy += (double)y[i] * y[i];
	double rms = sqrt(energy / (*n ? *n : 1)), hiss = rms * 0.08;
	for (size_t i = 0; i < m; i++) {
		y[i] += (float)((i >= *n ? rms : hiss) * gaussian());
		/* The transmitter's limiter. */
		double limit = rms * 2.2;
		if (y[i] > limit)
			y[i] = (float)limit;
		if (y[i] < -limit)
			y[i] = (float)-limit;
	}
	free(*samples);
	*samples = y;
	*n = m;
}

int main(int argc, char **argv) {
	if (argc < 2)
		die("usage: voice-channel CHANNEL [--dtx] [--loss P] [--gain DB] [--drift PPM] [--agc] [--snr DB] [--clip F] [--seed N] < IN.wav > OUT.wav");
	const char *channel = argv[1];
	int dtx = 0, agc = 0, stream = 0;
	double loss = 0, gain = 0, drift = 0, snr = 1000, clip = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--dtx"))
			dtx = 1;
		else if (!strcmp(a, "--stream"))
			stream = 1;
		else if (!strcmp(a, "--agc"))
			agc = 1;
		else if (v && !strcmp(a, "--loss"))
			loss = atof(v), i++;
		else if (v && !strcmp(a, "--gain"))
			gain = atof(v), i++;
		else if (v && !strcmp(a, "--drift"))
			drift = atof(v), i++;
		else if (v && !strcmp(a, "--snr"))
			snr = atof(v), i++;
		else if (v && !strcmp(a, "--clip"))
			clip = atof(v), i++;
		else if (v && !strcmp(a, "--seed"))
			rng_state ^= strtoull(v, NULL, 10) * 0x2545F4914F6CDD1DULL, i++;
		else
			die("an unknown option");
	}
	if (stream) {
		/* Raw 16-bit samples in and out, a frame at a time, as a live
		 * call: the codec, its lost frames and the level only. */
		if (!strcmp(channel, "fm"))
			die("the radio is not a streaming channel");
		struct codec c;
		codec_open(&c, channel, dtx, loss);
		short in[FRAME];
		float x[FRAME];
		double g = pow(10, gain / 20);
		size_t got;
		while ((got = fread(in, 2, FRAME, stdin)) > 0) {
			for (size_t i = 0; i < FRAME; i++)
				x[i] = i < got ? (float)(in[i] * g) : 0.0f;
			codec_frame(&c, x);
			short out[FRAME];
			to_shorts(x, out);
			if (fwrite(out, 2, got, stdout) != got)
				break;
			fflush(stdout);
		}
		return 0;
	}
	size_t n;
	float *x = read_wav(stdin, &n);
	/* The sender's sound card: its level and its clock. */
	double g = pow(10, gain / 20);
	if (drift != 0) {
		double step = 1.0 / (1.0 + drift * 1e-6);
		size_t m = (size_t)((double)n / step) + 1;
		float *y = calloc(m, sizeof(float));
		size_t k = 0;
		for (; k < m; k++) {
			double at = k * step;
			size_t i = (size_t)at;
			if (i + 2 >= n)
				break;
			double t = at - i, p0 = i ? x[i - 1] : x[i], p1 = x[i], p2 = x[i + 1], p3 = x[i + 2];
			/* Catmull-Rom: smooth enough at a few parts per thousand. */
			y[k] = (float)(p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0))));
		}
		free(x);
		x = y;
		n = k;
	}
	for (size_t i = 0; i < n; i++)
		x[i] *= (float)g;
	size_t frames = (n + FRAME - 1) / FRAME;
	x = realloc(x, frames * FRAME * sizeof(float));
	for (size_t i = n; i < frames * FRAME; i++)
		x[i] = 0;
	n = frames * FRAME;
	if (!strcmp(channel, "fm")) {
		fm(&x, &n);
	} else {
		struct codec c;
		codec_open(&c, channel, dtx, loss);
		for (size_t f = 0; f < frames; f++)
			codec_frame(&c, x + f * FRAME);
	}
	/* The receiver's side: its gain control, noise, clipping. */
	if (agc) {
		double env = 3000, target = 6000;
		for (size_t i = 0; i < n; i++) {
			double a = fabs(x[i]);
			env += (a > env ? 0.01 : 0.0005) * (a - env);
			x[i] = (float)(x[i] * target / (env > 100 ? env : 100));
		}
	}
	if (snr < 999) {
		double energy = 0;
		for (size_t i = 0; i < n; i++)
			energy += (double)x[i] * x[i];
		double sigma = sqrt(energy / (n ? n : 1)) * pow(10, -snr / 20);
		for (size_t i = 0; i < n; i++)
			x[i] += (float)(sigma * gaussian());
	}
	if (clip > 0) {
		float peak = 0;
		for (size_t i = 0; i < n; i++)
			peak = fabsf(x[i]) > peak ? fabsf(x[i]) : peak;
		float at = peak * (float)clip;
		for (size_t i = 0; i < n; i++)
			x[i] = x[i] > at ? at : x[i] < -at ? -at : x[i];
	}
	write_wav(stdout, x, n);
	free(x);
	return 0;
}
