"""The USDT probes of an ELF file as readelf -n lists them (the reference
the tests hold pprofd's note reader to)."""
import re
import subprocess


def probes(path):
    """[(provider, name, location, semaphore, arguments)], addresses as ints."""
    notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                           check=True).stdout
    return [(p, n, int(loc, 16), int(sem, 16), args)
            for p, n, loc, sem, args in re.findall(
                r"Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: \S+, "
                r"Semaphore: (0x[0-9a-f]+)\s+Arguments: ([^\n]*)", notes)]
