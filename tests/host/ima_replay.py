#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Replay an IMA binary measurement log in one PCR bank and compare with a pcrs file.

usage: ima_replay.py ALG,PCRS_FILE LOG [PCR]

An independent implementation (hashlib, no tcl code) of what `evmctl ima_measurement --pcrs
ALG,FILE` does for sha1 and sha256, for the banks evmctl 1.4 does not know (sha384, sha512:
it prints "Unknown algorithm" and exits 0 without checking anything).  As IMA extends every
allocated bank: bank value = H(bank value || H(template data)), H the bank's hash, the
template data being the entry's u32-length-prefixed fields.  Each entry's SHA-1 template hash
is checked against its data.  Exit 0 when the replay of some prefix of the log equals the
file's PCR value (default: every PCR the replay touched), 1 otherwise.
"""
import hashlib
import struct
import sys


def main():
    if len(sys.argv) not in (3, 4) or ',' not in sys.argv[1]:
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    alg, pcrs_path = sys.argv[1].split(',', 1)
    only = int(sys.argv[3]) if len(sys.argv) == 4 else None
    size = hashlib.new(alg).digest_size
    want = {}
    for line in open(pcrs_path):
        if line.startswith('PCR-') and ':' in line:
            n, v = line[4:].split(':', 1)
            want[int(n)] = bytes.fromhex(v.strip())
    b = open(sys.argv[2], 'rb').read()
    pcr = {}
    matched = {}
    off = entries = 0
    while off + 28 <= len(b):
        idx = struct.unpack_from('<I', b, off)[0]
        sha1 = b[off + 4:off + 24]
        tl = struct.unpack_from('<I', b, off + 24)[0]
        dl = struct.unpack_from('<I', b, off + 28 + tl)[0]
        data = b[off + 32 + tl:off + 32 + tl + dl]
        if len(data) != dl:
            break
        if hashlib.sha1(data).digest() != sha1:
            print(f'entry {entries} at offset {off}: template hash does not match its data')
            return 1
        if only is None or idx == only:
            cur = pcr.get(idx, bytes(size))
            pcr[idx] = hashlib.new(alg, cur + hashlib.new(alg, data).digest()).digest()
            if want.get(idx) == pcr[idx]:
                matched[idx] = entries + 1
        off += 32 + tl + dl
        entries += 1
    if not pcr:
        print('no entry replayed')
        return 1
    for idx in sorted(pcr):
        if len(want.get(idx, b'')) != size:
            print(f'{alg} PCR-{idx:02d}: no {size}-byte value in {pcrs_path}')
            return 1
        if idx not in matched:
            print(f'{alg} PCR-{idx:02d}: no prefix of the {entries} entries replays to '
                  f'{want[idx].hex()}')
            return 1
        print(f'{alg} PCR-{idx:02d}: succeed at entry {matched[idx]} of {entries}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
