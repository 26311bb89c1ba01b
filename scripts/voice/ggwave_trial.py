"""ggwave through the same channel as samizdat's call modem.

    python ggwave_trial.py CHANNEL_TOOL "CHANNEL ARGS" PROTOCOL MESSAGES

Encodes MESSAGES messages of 140 random bytes (ggwave's longest) at 8 kHz
with PROTOCOL, one after another with a short gap, passes the sound
through voice-channel, decodes it, and prints JSON: the seconds of sound,
the messages and bytes decoded right, and any decoded wrong.
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import wave

import ggwave


def params():
    p = ggwave.getDefaultParameters()
    for key in ("sampleRateOut", "sampleRateInp"):
        p[key] = 8000
    # 16-bit signed samples in and out.
    p["sampleFormatOut"] = 4
    p["sampleFormatInp"] = 4
    return p


def main():
    tool, channel, protocol, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ggwave.disableLog()
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    messages = ["".join(rng.choice(alphabet) for _ in range(140)) for _ in range(count)]
    tx = ggwave.init(params())
    gap = b"\x00\x00" * 4000
    audio = gap
    for m in messages:
        audio += ggwave.encode(m, protocolId=protocol, volume=25, instance=tx) + gap
    ggwave.free(tx)
    with tempfile.TemporaryDirectory() as d:
        sent, heard = os.path.join(d, "sent.wav"), os.path.join(d, "heard.wav")
        with wave.open(sent, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(audio)
        with open(sent, "rb") as i, open(heard, "wb") as o:
            subprocess.run([tool, *channel.split(), "--seed", "7"], stdin=i, stdout=o, check=True)
        with wave.open(heard, "rb") as w:
            received = w.readframes(w.getnframes())
    rx = ggwave.init(params())
    right, wrong = set(), 0
    step = 1024 * 2
    for at in range(0, len(received), step):
        out = ggwave.decode(rx, received[at : at + step])
        if out is None:
            continue
        text = out.decode("utf-8", "replace")
        if text in messages:
            right.add(text)
        else:
            wrong += 1
    ggwave.free(rx)
    seconds = len(audio) / 2 / 8000
    print(json.dumps({
        "seconds": seconds,
        "messages": count,
        "decoded": len(right),
        "wrong": wrong,
        "bytes": 140 * len(right),
        "bytes_per_second": 140 * len(right) / seconds,
    }))


if __name__ == "__main__":
    main()
