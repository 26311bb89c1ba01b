"""The call modem's table: bytes of records a second through each codec
and channel, at each speed, beside ggwave through the same chain.

    python3 scripts/voice/table.py --bin target/release --channel TOOL \
        [--ggwave-python PYTHON] [--records 40] [--json OUT]

Every figure comes from this run: records written by samizdat-bench
drill-data, `samizdat call send --wav` at each speed, the sound through
voice-channel (Debian's real codecs), `samizdat call receive --wav` into
an empty node. A rate is the NIP-01 JSON size of the records stored,
divided by the length of the sound, as the issue counts it.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHAINS = [
    ("AMR-NB 12.2, DTX, 1 % frames lost", "amr122 --dtx --loss 1"),
    ("AMR-NB 7.95, DTX, 1 % lost", "amr795 --dtx --loss 1"),
    ("AMR-NB 4.75, DTX, 1 % lost", "amr475 --dtx --loss 1"),
    ("GSM full rate, DTX, 1 % lost", "gsm --dtx --loss 1"),
    ("Opus 12 kbit/s VoIP, DTX, 1 % lost", "opus12 --dtx --loss 1"),
    ("Opus 8 kbit/s VoIP, DTX, 1 % lost", "opus8 --dtx --loss 1"),
    ("AMR-NB 12.2, clocks 0.1 % apart, AGC, 20 dB SNR", "amr122 --dtx --drift 1000 --agc --snr 20"),
    ("analog FM radio", "fm"),
]

GGWAVE = [(8, "ggwave DT fastest"), (2, "ggwave audible fastest")]

# Live calls: the same codec both ways, frame by frame.
LIVE = [
    ("AMR-NB 12.2, DTX, 1 % lost", "amr122 --dtx --loss 1"),
    ("AMR-NB 4.75, DTX, 1 % lost", "amr475 --dtx --loss 1"),
    ("GSM full rate, DTX, 1 % lost", "gsm --dtx --loss 1"),
    ("Opus 8 kbit/s VoIP, DTX, 1 % lost", "opus8 --dtx --loss 1"),
]


def live_call(bin_dir, tool, src, d, chain):
    """A live call from src to an empty node, both halves through chain."""
    import threading
    dst = os.path.join(d, "live-dst")
    subprocess.run(["rm", "-rf", dst])
    samizdat(bin_dir, dst, "init")
    env = {**os.environ, "SAMIZDAT_PASSPHRASE": "voice table passphrase"}
    exe = os.path.join(bin_dir, "samizdat")
    live = ["--live", "--audio-in", "-", "--audio-out", "-", "--json"]
    send = subprocess.Popen([exe, "--data", src, "call", "send", *live], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    there = subprocess.Popen([tool, *chain.split(), "--stream", "--seed", "7"],
                             stdin=send.stdout, stdout=subprocess.PIPE)
    hear = subprocess.Popen([exe, "--data", dst, "call", "receive", *live], env=env,
                            stdin=there.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    back = subprocess.Popen([tool, *chain.split(), "--stream", "--seed", "8"],
                            stdin=hear.stdout, stdout=subprocess.PIPE)

    def pump():
        while True:
            data = back.stdout.read(3200)
            if not data:
                break
            try:
                send.stdin.write(data)
                send.stdin.flush()
            except OSError:
                break
        try:
            send.stdin.close()
        except OSError:
            pass

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    started = time.perf_counter()
    send_err = send.stderr.read().decode()
    send.wait(timeout=3600)
    hear_err = hear.stderr.read().decode()
    hear.wait(timeout=600)
    took = time.perf_counter() - started
    sent = json.loads(send_err.strip().splitlines()[-1])
    got = json.loads(hear_err.strip().splitlines()[-1])
    verify = samizdat(bin_dir, dst, "verify")
    return {
        "seconds": sent["seconds"], "robust_frames": sent["robust_frames"],
        "fast_frames": sent["fast_frames"], "complete": sent["complete"],
        "stored": got["stored"], "refused": got["refused"], "json_bytes": got["json_bytes"],
        "verify_ok": verify.returncode == 0,
        "bytes_per_second": got["json_bytes"] / max(sent["seconds"], 1e-3),
        "wall_seconds": took,
    }


def run(args, **kw):
    out = subprocess.run(args, capture_output=True, text=True, **kw)
    return out


def samizdat(bin_dir, data, *args):
    return run([os.path.join(bin_dir, "samizdat"), "--data", data, "--json", *args],
               env={**os.environ, "SAMIZDAT_PASSPHRASE": "voice table passphrase"})


def last_json(out):
    for line in reversed(out.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"no JSON in: {out.stdout}\n{out.stderr}")


def through(tool, chain, src, dst):
    with open(src, "rb") as i, open(dst, "wb") as o:
        subprocess.run([tool, *chain.split(), "--seed", "7"], stdin=i, stdout=o, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--channel", required=True)
    ap.add_argument("--ggwave-python")
    ap.add_argument("--records", type=int, default=40)
    ap.add_argument("--json")
    a = ap.parse_args()
    results = {"records": a.records, "rows": [], "ggwave": [], "person_report": {}}
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src")
        samizdat(a.bin, src, "init")
        made = run([os.path.join(a.bin, "samizdat-bench"), "drill-data", "--data", src,
                    "--records", str(a.records), "--photos", "0", "--videos", "0"])
        if made.returncode != 0:
            raise SystemExit(made.stderr)
        # One typical person report on its own: how long it takes to cross.
        one = os.path.join(d, "one")
        samizdat(a.bin, one, "init")
        samizdat(a.bin, one, "id", "new", "--name", "witness")
        samizdat(a.bin, one, "person", "report", "--name", "Асель Нурланова", "--status",
                 "detained", "--source", "witnessed", "--when", "2022-01-06", "--lang", "kk",
                 "--place", "Алматы")
        sent = {}
        for speed in ("robust", "fast"):
            wav = os.path.join(d, f"{speed}.wav")
            started = time.perf_counter()
            out = samizdat(a.bin, src, "call", "send", "--wav", wav, "--speed", speed)
            took = time.perf_counter() - started
            info = last_json(out)
            info["encode_seconds"] = took
            sent[speed] = (wav, info)
            single = os.path.join(d, f"one-{speed}.wav")
            person = last_json(samizdat(a.bin, one, "call", "send", "--wav", single, "--speed", speed))
            results["person_report"][speed] = person
        for label, chain in CHAINS:
            for speed, (wav, info) in sent.items():
                heard = os.path.join(d, "heard.wav")
                through(a.channel, chain, wav, heard)
                dst = os.path.join(d, f"dst-{speed}")
                samizdat(a.bin, dst, "init")
                started = time.perf_counter()
                got = last_json(samizdat(a.bin, dst, "call", "receive", "--wav", heard))
                took = time.perf_counter() - started
                verify = samizdat(a.bin, dst, "verify")
                row = {
                    "chain": label, "args": chain, "speed": speed,
                    "records_sent": info["records"], "stored": got["stored"],
                    "refused": got["refused"], "verify_ok": verify.returncode == 0,
                    "seconds": got["seconds"], "json_bytes": got["json_bytes"],
                    "bytes_per_second": got["bytes_per_second"],
                    "decode_realtime_factor": got["seconds"] / took,
                    "encode_realtime_factor": info["seconds"] / info["encode_seconds"],
                }
                results["rows"].append(row)
                print(json.dumps(row), file=sys.stderr)
                subprocess.run(["rm", "-rf", dst])
        for label, chain in LIVE:
            row = live_call(a.bin, a.channel, src, d, chain)
            row.update({"chain": label, "args": chain})
            results.setdefault("live", []).append(row)
            print(json.dumps(row), file=sys.stderr)
        if a.ggwave_python:
            ratio = sent["robust"][1]["json_bytes"] / sent["robust"][1]["packed_bytes"]
            script = os.path.join(os.path.dirname(__file__), "ggwave_trial.py")
            for label, chain in CHAINS:
                for protocol, name in GGWAVE:
                    out = run([a.ggwave_python, script, a.channel, chain, str(protocol), "4"])
                    if out.returncode != 0:
                        raise SystemExit(out.stderr)
                    g = json.loads(out.stdout)
                    g.update({"chain": label, "protocol": name,
                              "records_bytes_per_second_with_our_packing": g["bytes_per_second"] * ratio})
                    results["ggwave"].append(g)
                    print(json.dumps(g), file=sys.stderr)
    # The table.
    print("| channel | samizdat robust | samizdat fast |" +
          ("".join(f" {n} |" for _, n in GGWAVE) if a.ggwave_python else ""))
    print("|---|---|---|" + ("---|" * len(GGWAVE) if a.ggwave_python else ""))
    for label, chain in CHAINS:
        cells = []
        for speed in ("robust", "fast"):
            r = next(r for r in results["rows"] if r["chain"] == label and r["speed"] == speed)
            cells.append(f"{r['bytes_per_second']:.0f} B/s ({r['stored']}/{r['records_sent']}"
                         f"{'' if r['refused'] == 0 and r['verify_ok'] else ', CORRUPT'})")
        if a.ggwave_python:
            for _, name in GGWAVE:
                g = next(g for g in results["ggwave"] if g["chain"] == label and g["protocol"] == name)
                cells.append(f"{g['records_bytes_per_second_with_our_packing']:.0f} B/s "
                             f"({g['decoded']}/{g['messages']})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    print("| live call, both halves through | records | sound | robust / fast frames | rate |")
    print("|---|---|---|---|---|")
    for r in results.get("live", []):
        print(f"| {r['chain']} | {r['stored']}/{a.records}"
              f"{'' if r['refused'] == 0 and r['verify_ok'] else ', CORRUPT'} | "
              f"{r['seconds']:.0f} s | {r['robust_frames']} / {r['fast_frames']} | "
              f"{r['bytes_per_second']:.0f} B/s |")
    for speed, p in results["person_report"].items():
        print(f"one person report ({p['json_bytes']} bytes as JSON) at the {speed} speed: "
              f"{p['seconds']:.1f} s of sound")
    enc = min(r["encode_realtime_factor"] for r in results["rows"])
    dec = min(r["decode_realtime_factor"] for r in results["rows"])
    print(f"faster than real time on one core: encoding {enc:.0f}x, decoding {dec:.0f}x (the slowest of the runs)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
