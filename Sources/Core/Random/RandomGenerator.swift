/// A seeded, portable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// The same seed gives the same sequence on every machine: the generator and the normal
/// sampler use only integer operations and correctly rounded IEEE-754 arithmetic (no platform
/// math library). Generators are values: pass them `inout` to whatever needs randomness.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Hashable, Codable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator whose sequence is determined by `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    /// The four state words, for checkpoints.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// Restores a generator from `state`.
    /// - Throws: `TensorError.invalidArgument` unless `state` is four words, not all zero.
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw TensorError.invalidArgument(
                op: "RandomGenerator(state:)", reason: "expected 4 state words, not all zero; got \(state)")
        }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A uniform `Double` in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal sample (Marsaglia's polar method).
    public mutating func nextNormal() -> Double {
        nextNormalPair().0
    }

    /// Two independent standard normal samples.
    public mutating func nextNormalPair() -> (Double, Double) {
        while true {
            let u = 2 * nextUniform() - 1
            let v = 2 * nextUniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let factor = (-2 * portableLog(s) / s).squareRoot()
                return (u * factor, v * factor)
            }
        }
    }

    /// An independent generator determined by this one's state and `key`, without advancing
    /// this one: the stream of example `key` of a batch (dropout masks keyed by the global
    /// example index do not depend on how a batch is split over processes).
    public func derived(key: UInt64) -> RandomGenerator {
        var mixed = s0 ^ (s1 &* 0x9E37_79B9_7F4A_7C15) ^ (s2 << 1) ^ (s3 >> 1)
        mixed ^= key &* 0xD1B5_4A32_D192_ED03
        return RandomGenerator(seed: mixed)
    }

    /// An independent generator derived from this one's next outputs; advances this one.
    public mutating func split() -> RandomGenerator {
        RandomGenerator(seed: next() ^ (next() >> 1))
    }
}

/// Natural logarithm of a positive, finite `x` from basic IEEE operations only, so that it is
/// identical on every machine: x = m 2^e with m in [sqrt(1/2), sqrt(2)), and
/// log m = 2 atanh(s) with s = (m - 1)/(m + 1), |s| <= 0.172, summed to double precision.
func portableLog(_ x: Double) -> Double {
    var e = Double(x.exponent)
    var m = x.significand  // [1, 2)
    if m > 1.4142135623730951 {
        m /= 2
        e += 1
    }
    let s = (m - 1) / (m + 1)
    let s2 = s * s
    var term = s
    var total = 0.0
    var k = 1.0
    for _ in 0..<14 {
        total += term / k
        term *= s2
        k += 2
    }
    let ln2Hi = 0.6931471803691238
    let ln2Lo = 1.9082149292705877e-10
    return e * ln2Hi + (2 * total + e * ln2Lo)
}
