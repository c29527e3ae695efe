#!/usr/bin/env python3
"""Independent reference for Saddle's RandomGenerator: xoshiro256** seeded by SplitMix64.

Prints the first outputs for seed 42, which Tests/CoreTests/RandomTests.swift pins down so that
the generator stays identical across machines and releases. Algorithms: Blackman and Vigna,
"Scrambled linear pseudorandom number generators" (2018); SplitMix64 from Steele et al. (2014).
"""
M = (1 << 64) - 1

def splitmix(state):
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)

def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M

def generator(seed):
    s = []
    state = seed
    for _ in range(4):
        state, z = splitmix(state)
        s.append(z)
    while True:
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
        yield result

g = generator(42)
print([next(g) for _ in range(5)])
g = generator(42)
print([(next(g) >> 11) * 2.0**-53 for _ in range(3)])
