"""S/MIME cost: icsclient in-process against the ``openssl cms`` pipelines, in one run.

    python benchmarks/bench_smime.py [--sizes 1KB,1MB,10MB] [--repeat 5]

For each interchange size it times, best of ``--repeat`` runs after a warm-up:

* sign+encrypt: :func:`icsclient.compose_email` (the whole CCF e-mail: base64
  ``application/EDIFACT`` part, detached SHA-256 RSA signature, AES-256-CBC envelope,
  headers; ``validate=False``) against
  ``openssl cms -sign -binary | openssl cms -encrypt -aes256`` on the same interchange;
* decrypt+verify: :func:`icsclient.smime.unwrap` (decrypt, verify, chain, pin) and
  :func:`icsclient.open_email` (that plus the attachment decoded and the UNB and subject
  checked) against ``openssl cms -decrypt | openssl cms -verify`` on the same e-mail.

Peak memory is measured in a fresh process per size and direction (peak RSS minus the
RSS with the inputs loaded, and the absolute peak); for OpenSSL it is the larger of the
two pipeline processes' peak RSS.  Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from icsclient.mail import compose_email, open_email  # noqa: E402
from icsclient.smime import Credentials, Trust, unwrap  # noqa: E402
from icsclient.testing.pki import ThrowawayPKI, make_test_pki  # noqa: E402

SIZES = {"1KB": 1024, "1MB": 1024 * 1024, "10MB": 10 * 1024 * 1024 - 4096}
TARGETS = {"sign+encrypt": 0.8, "decrypt+verify": 0.25}
MiB = 1024 * 1024


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def make_interchange(size: int) -> bytes:
    """A valid CUSCAR interchange of about ``size`` bytes (FTX segments as filler)."""
    head = (
        b"UNA:+.? 'UNB+UNOC:3+AAA676Y::AAA676Y+AAA336C+260101:1200+42++++1'"
        b"UNH+1+CUSCAR:D:99B:UN'BGM+933:::AIRCR+X1+9'"
    )
    seg = b"FTX+AAA+++GENERAL CARGO 0123456789 ?+ ?: ?' ABCDEFGHIJKLMNOP'"
    count = max(1, (size - len(head) - 40) // len(seg))
    return head + seg * count + b"UNT+%d+1'UNZ+1+42'" % (count + 3)


def best_of(repeat: int, *runs: Callable[[], object]) -> list[float]:
    """The best wall time of each of ``runs``, taken in turns ``repeat`` times after a
    warm-up: on a shared host the machine's speed drifts by a third within minutes, and
    taking turns makes ours and OpenSSL's meet the same machine."""
    for run in runs:
        run()  # warm-up
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            gc.collect()
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def _status_kib(field: str) -> int:
    """``VmRSS`` / ``VmHWM`` of this process in KiB (``ru_maxrss`` is useless here: Linux
    carries the parent's high-water mark across fork and exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def pki_for(directory: Path) -> tuple[ThrowawayPKI, dict[str, Path]]:
    pki = make_test_pki()
    return pki, pki.write(directory)


class LoadedPKI:
    """The benchmark's PKI read back from its PEM files (for the memory workers)."""

    def __init__(self, directory: Path) -> None:
        self.client = Credentials.from_pem(
            directory / "client.pem", directory / "client.key", chain=directory / "client-chain.pem"
        )
        self.gateway = Credentials.from_pem(directory / "gateway.pem", directory / "gateway.key")
        self.client_email, self.gateway_email = "edi@broker.test", "cargo@ccf.test"
        self.trust = Trust(directory / "ca.pem", directory / "client.pem", gateway_site="AAA676Y")


def load_pki(directory: Path) -> LoadedPKI:
    return LoadedPKI(directory)


def compose(pki: ThrowawayPKI | LoadedPKI, interchange: bytes) -> bytes:
    """The CCF e-mail for ``interchange`` (no EDIFACT validation, like the OpenSSL side)."""
    return compose_email(
        interchange,
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
        validate=False,
    )


def openssl_sign_encrypt(paths: dict[str, Path], source: Path, out: Path) -> list[str]:
    return [
        "sh",
        "-c",
        f"openssl cms -sign -binary -in '{source}' -signer '{paths['client.pem']}' "
        f"-inkey '{paths['client.key']}' -certfile '{paths['client-chain.pem']}' | "
        f"openssl cms -encrypt -binary -aes256 -out '{out}' '{paths['gateway.pem']}'",
    ]


def openssl_decrypt_verify(paths: dict[str, Path], mail: Path, out: Path) -> list[str]:
    return [
        "sh",
        "-c",
        f"openssl cms -decrypt -in '{mail}' -recip '{paths['gateway.pem']}' "
        f"-inkey '{paths['gateway.key']}' | "
        f"openssl cms -verify -CAfile '{paths['ca.pem']}' -out '{out}' 2>/dev/null",
    ]


def run_checked(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[-1]} failed: {done.stderr.decode(errors='replace')}")


def memory_worker(direction: str, size: int, workdir: Path) -> None:
    """Child process: load inputs, run one operation, print peak and delta RSS in KiB."""
    pki = load_pki(workdir / "pki")
    interchange = make_interchange(size) if direction == "sign+encrypt" else b""
    # the e-mail to open is read from the parent's file: composing it here would set the peak
    mail = (workdir / "mail.eml").read_bytes() if direction != "sign+encrypt" else b""
    gc.collect()
    base = _status_kib("VmRSS")
    if direction == "sign+encrypt":
        compose(pki, interchange)
    elif direction == "unwrap":
        unwrap(mail, recipients=[pki.gateway], trust=pki.trust)
    else:
        open_email(mail, recipient=pki.gateway, trust=pki.trust)
    peak = _status_kib("VmHWM")
    print(peak, max(0, peak - base))


def measure_memory(direction: str, size: int, workdir: Path) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--memory-worker", direction, str(size), str(workdir)],
        capture_output=True,
        check=True,
        text=True,
    )
    peak, delta = map(int, done.stdout.split())
    return peak / 1024, delta / 1024


def openssl_memory(cmd: list[str]) -> float:
    """Peak RSS (MiB) of the largest process of a pipeline.

    GNU ``time`` (tiny, so it adds nothing to the children's high-water mark) when
    installed, else a small Python probe (whose own ~10 MiB then sets a floor).
    """
    gnu_time = shutil.which("time")
    if gnu_time:
        done = subprocess.run(
            [gnu_time, "-f", "%M", *cmd], capture_output=True, check=True, text=True
        )
        return int(done.stderr.strip().splitlines()[-1]) / 1024
    probe = (
        "import resource, subprocess, sys;"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *cmd], capture_output=True, check=True, text=True
    )
    return int(done.stdout) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_worker:
        direction, size, workdir = args.memory_worker
        memory_worker(direction, int(size), Path(workdir))
        return
    if shutil.which("openssl") is None:
        raise SystemExit("the openssl command is needed for the comparison")
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout
    progress(f"icsclient S/MIME vs {version.strip()}; Python {sys.version.split()[0]}")
    rows: list[tuple[str, str, str, float, float, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pki, paths = pki_for(tmp / "pki")
        trust = pki.trust_for_gateway()
        steps = len(sizes) * 2
        step = 0
        for label in sizes:
            size = SIZES[label]
            interchange = make_interchange(size)
            source, mail_file = tmp / f"{label}.edi", tmp / f"{label}.eml"
            source.write_bytes(interchange)
            mail = compose(pki, interchange)
            mail_file.write_bytes(mail)
            (tmp / "mail.eml").write_bytes(mail)
            repeat = args.repeat if size > 2 * MiB else args.repeat * 4

            step += 1
            progress(f"[{step}/{steps}] {label} sign+encrypt ...")
            cmd = openssl_sign_encrypt(paths, source, tmp / "out.eml")
            ours, theirs = best_of(
                repeat,
                lambda: compose(pki, interchange),  # noqa: B023
                lambda: run_checked(cmd),  # noqa: B023
            )
            peak, delta = measure_memory("sign+encrypt", size, tmp)
            rows.append(
                (
                    label,
                    "sign+encrypt",
                    "compose_email",
                    ours,
                    theirs,
                    peak,
                    delta,
                    openssl_memory(cmd),
                )
            )

            cmd = openssl_decrypt_verify(paths, mail_file, tmp / "out.edi")
            step += 1
            progress(f"[{step}/{steps}] {label} decrypt+verify (unwrap, open_email) ...")
            ours, opened, theirs = best_of(
                repeat,
                lambda: unwrap(mail, recipients=[pki.gateway], trust=trust),  # noqa: B023
                lambda: open_email(mail, recipient=pki.gateway, trust=trust),  # noqa: B023
                lambda: run_checked(cmd),  # noqa: B023
            )
            their_mem = openssl_memory(cmd)
            peak, delta = measure_memory("unwrap", size, tmp)
            rows.append(
                (label, "decrypt+verify", "smime.unwrap", ours, theirs, peak, delta, their_mem)
            )

            peak, delta = measure_memory("open_email", size, tmp)
            rows.append(
                (label, "decrypt+verify", "open_email", opened, theirs, peak, delta, their_mem)
            )

    print()
    print(
        f"{'size':>5}  {'direction':<15}{'icsclient call':<15}{'ours s':>9}{'openssl s':>11}"
        f"{'ratio':>8}{'target':>8}  {'peak MiB':>9}{'+MiB':>7}{'openssl MiB':>13}"
    )
    for label, direction, call, ours, theirs, peak, delta, their_mem in rows:
        ratio = ours / theirs
        target = TARGETS[direction]
        # the targets are stated for 10 MB; smaller sizes are shown for reference
        mark = ("ok" if ratio <= target else "MISS") if label == "10MB" else "-"
        print(
            f"{label:>5}  {direction:<15}{call:<15}{ours:>9.4f}{theirs:>11.4f}"
            f"{ratio:>7.2f}x{f'<={target}x':>8} {mark:<4}"
            f"{peak:>7.1f}{delta:>7.1f}{their_mem:>13.1f}"
        )
    print(
        "\nratio = ours / openssl pipeline (best of runs; targets apply at 10 MB).\n"
        "peak MiB = the Python process's peak RSS (interpreter, libraries and inputs\n"
        "included); +MiB = above the RSS with the inputs loaded; openssl MiB = the\n"
        "larger pipeline process's peak RSS."
    )


if __name__ == "__main__":
    main()
