"""Wall-clock timing shared by the benchmark scripts: commands run interleaved, so that drift in the
machine's load hits each alike, and the median of each is kept."""

import statistics
import subprocess
import time


def walls(commands, repeat):
    """Median wall time of each command (a list of argv lists), run interleaved ``repeat`` times."""
    times = [[] for _ in commands]
    for _ in range(repeat):
        for index, command in enumerate(commands):
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            times[index].append(time.perf_counter() - started)
    return [statistics.median(series) for series in times]
