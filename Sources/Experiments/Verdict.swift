import Foundation

/// The thresholds behind every verdict of the report, as named constants, and the tests that
/// apply them. Each is tested on synthetic numbers on both sides of the line
/// (Tests/ExperimentsTests/VerdictTests.swift), so "held" cannot be hollow.
public enum Verdict {
    // MARK: Exact arithmetic

    /// A coordinate at most this far from 0 counts as exactly on the critical point (Float64).
    public static let exactZero = 1e-12
    /// Two numbers agree when they differ by at most this much relative to the larger.
    public static let relativeAgreement = 1e-9
    /// A path has escaped when its distance from the critical point grew by this factor.
    public static let escapeFactor = 10.0

    /// Whether `value` is 0 to within `exactZero`.
    public static func isExactlyZero(_ value: Double) -> Bool { Swift.abs(value) <= exactZero }

    /// Whether `value` equals `expected` to within `relativeAgreement`.
    public static func agrees(_ value: Double, _ expected: Double) -> Bool {
        Swift.abs(value - expected) <= relativeAgreement * Swift.max(Swift.abs(value), Swift.abs(expected), 1e-300)
    }

    /// Whether a distance grew from `start` to `end` by at least `escapeFactor`.
    public static func escaped(from start: Double, to end: Double) -> Bool { end.isFinite && end >= escapeFactor * start }

    /// A path "leaves" a critical point when its distance ends at least this many times the start's.
    public static let departureFactor = 2.0

    /// Whether the distances `radii` along a path end at least `departureFactor` times the
    /// first and rise at every step of the path's second half.
    public static func isLeaving(_ radii: [Double]) -> Bool {
        guard radii.count >= 2, radii.allSatisfy(\.isFinite), let first = radii.first, let last = radii.last else { return false }
        let half = Array(radii[(radii.count / 2)...])
        return last >= departureFactor * first && zip(half, half.dropFirst()).allSatisfy { $1 > $0 }
    }

    // MARK: Curves and paths

    /// A rise along an interpolation path counts as noise when it is at most this many
    /// standard errors of the mean loss at the higher point.
    public static let noiseMultiple = 2.0

    /// Whether `losses` never rise by more than `noiseMultiple` times the standard error
    /// `noise` at the point they rise to (NaN never passes).
    public static func isMonotone(_ losses: [Double], noise: [Double]) -> Bool {
        guard losses.count == noise.count, losses.allSatisfy(\.isFinite) else { return false }
        return zip(losses.indices, losses.indices.dropFirst()).allSatisfy { a, b in losses[b] - losses[a] <= noiseMultiple * noise[b] }
    }

    /// An interpolation counts only if training worked: the solution's loss is at most this share of the initialization's.
    public static let trainedShare = 0.5

    /// A barrier between two solutions must rise above the higher end by this share of it
    /// (and by more than `noiseMultiple` standard errors).
    public static let barrierShare = 0.5

    /// Whether the largest interior value of `losses` stands above both ends.
    public static func hasBarrier(_ losses: [Double], noise: [Double]) -> Bool {
        guard losses.count >= 3, losses.count == noise.count, losses.allSatisfy(\.isFinite), let top = losses.indices.dropFirst().dropLast().max(by: { losses[$0] < losses[$1] }) else {
            return false
        }
        let ends = Swift.max(losses[0], losses[losses.count - 1])
        return losses[top] - ends > Swift.max(barrierShare * ends, noiseMultiple * noise[top])
    }

    /// A simulated curve follows a closed form when their largest gap is at most this share of the curve's scale.
    public static let curveTolerance = 0.1

    /// Whether `measured` follows `predicted` to within `curveTolerance` of `scale`.
    public static func follows(_ measured: [Double], _ predicted: [Double], scale: Double) -> Bool {
        guard measured.count == predicted.count, !measured.isEmpty, scale > 0 else { return false }
        return zip(measured, predicted).allSatisfy { Swift.abs($0 - $1) <= curveTolerance * scale }
    }

    /// The gap between iterates and a flow must shrink by at least this factor when the step halves (first order: 2).
    public static let firstOrderShrink = 1.6

    /// Whether the errors at successively halved step sizes shrink at least at first order.
    public static func convergesAtFirstOrder(_ errors: [Double]) -> Bool {
        errors.count >= 2 && errors.allSatisfy(\.isFinite) && zip(errors, errors.dropFirst()).allSatisfy { $0 >= firstOrderShrink * $1 }
    }

    // MARK: Speed and depth

    /// "Several times fewer steps": the slower must need at least this many times the steps.
    public static let speedup = 2.0

    /// Whether `fast` reached its target in at most 1 / `speedup` of the steps `slow` took
    /// (a run that never reached it counts as infinitely slow; if `fast` never did, no).
    public static func isFaster(_ fast: Int?, than slow: Int?) -> Bool {
        guard let fast else { return false }
        guard let slow else { return true }
        return Double(slow) >= speedup * Double(fast)
    }

    /// Learning times are "independent of depth" when the slowest is at most this many times the fastest.
    public static let depthSpread = 2.0

    /// Whether every depth reached the target and the slowest took at most `depthSpread` times the fastest.
    public static func isDepthIndependent(_ steps: [Int?]) -> Bool {
        let reached = steps.compactMap { $0 }
        guard reached.count == steps.count, let low = reached.min(), let high = reached.max(), low > 0 else { return false }
        return Double(high) <= depthSpread * Double(low)
    }

    /// Whether learning slowed with depth: the deepest took at least `speedup` times the
    /// shallowest's steps, or never reached the target while the shallowest did.
    public static func slowsWithDepth(_ steps: [Int?]) -> Bool {
        guard let first = steps.first, let shallow = first else { return false }
        return isFaster(shallow, than: steps.last ?? nil)
    }

    /// A deeper net "trains worse" when its final training loss exceeds the shallower's by this share (and 0.01).
    public static let depthMargin = 0.25

    /// Whether the deeper net's final training loss is clearly above the shallower's.
    public static func deeperIsWorse(shallow: Double, deep: Double) -> Bool {
        guard shallow.isFinite else { return false }
        return !deep.isFinite || deep > shallow * (1 + depthMargin) + 0.01
    }

    /// A drift counts as "stable" against another when it is at most this share of it.
    public static let stabilityShare = 0.5

    /// Whether `drift` is at most `stabilityShare` of `reference`.
    public static func isStable(_ drift: Double, against reference: Double) -> Bool {
        drift.isFinite && reference.isFinite && drift <= stabilityShare * reference
    }

    // MARK: Growing networks

    /// A student starts at its teacher's loss when they differ by at most this, relative (Float64 digits models).
    public static let preservationFloat64 = 1e-10
    /// The same for Float32 conv nets (summation order differs between the two architectures).
    public static let preservationFloat32 = 1e-5

    /// Whether `student` equals `teacher` to within `tolerance`, relative.
    public static func preserves(_ student: Double, _ teacher: Double, tolerance: Double) -> Bool {
        Swift.abs(student - teacher) <= tolerance * Swift.max(Swift.abs(teacher), 1e-300)
    }

    /// Whether `student` is below every baseline at every epoch (lengths must match).
    public static func staysBelow(_ student: [Double], _ baselines: [[Double]]) -> Bool {
        baselines.allSatisfy { b in b.count == student.count && zip(student, b).allSatisfy { $0 < $1 } }
    }

    // MARK: Critical points and minima

    /// "Error grows with index": the rank correlation of loss and index must reach this.
    public static let indexCorrelation = 0.5

    /// Spearman's rank correlation of `a` and `b` (ties get their mean rank); NaN for fewer than 3 pairs or a constant list.
    public static func rankCorrelation(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count, a.count >= 3 else { return .nan }
        func ranks(_ v: [Double]) -> [Double] {
            let order = v.indices.sorted { v[$0] < v[$1] }
            var result = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
                for k in i...j { result[order[k]] = Double(i + j) / 2 }
                i = j + 1
            }
            return result
        }
        let (x, y) = (ranks(a), ranks(b))
        let (mx, my) = (mean(x), mean(y))
        let sxy = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        let sxx = x.map { ($0 - mx) * ($0 - mx) }.reduce(0, +), syy = y.map { ($0 - my) * ($0 - my) }.reduce(0, +)
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : .nan
    }

    /// Whether loss and index are rank-correlated at least `indexCorrelation`.
    public static func errorGrowsWithIndex(losses: [Double], indices: [Double]) -> Bool {
        let rho = rankCorrelation(losses, indices)
        return rho.isFinite && rho >= indexCorrelation
    }

    /// A point found by a critical-point search enters the index correlation when its gradient
    /// norm is at most this share of the gradient norm where the search's network started.
    public static let searchedPointShare = 0.03

    /// A point counts as near a minimum when at most this share of its Hessian's eigenvalues are negative.
    public static let nearMinimumIndex = 0.01
    /// And when its gradient norm is at most this share of the gradient norm at the start.
    public static let nearCriticalShare = 1e-3

    /// Whether a point with `index` and `gradientNorm` is near a minimum (start gradient `initial`).
    public static func isNearMinimum(index: Double, gradientNorm: Double, initial: Double) -> Bool {
        index <= nearMinimumIndex && gradientNorm.isFinite && gradientNorm <= nearCriticalShare * initial
    }

    /// The relative spread (standard deviation over mean) of the end losses of restarts.
    public static func spread(_ values: [Double]) -> Double {
        guard values.count >= 2, values.allSatisfy(\.isFinite) else { return .nan }
        let m = mean(values)
        let variance = values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)
        return variance.squareRoot() / Swift.max(Swift.abs(m), 1e-300)
    }

    /// Local minima are "similar" when the relative spread of their held-out losses is at most this.
    public static let similarMinima = 0.1

    // MARK: Training dynamics

    /// Whether `final` is below `initial` by at least the share `drop` (NaN never passes).
    public static func fell(from initial: Double, to final: Double, by drop: Double) -> Bool {
        initial.isFinite && final.isFinite && final <= (1 - drop) * initial
    }

    /// The gradient norm "grows" when it ends at least this many times where it started.
    public static let gradientGrowth = 1.5
    /// While the held-out error falls by at least this share.
    public static let errorDrop = 0.5

    /// Whether the gradient norm grew by `gradientGrowth` while the held-out error fell by `errorDrop`.
    public static func succeedsWhileGradientGrows(gradient: (start: Double, end: Double), error: (start: Double, end: Double)) -> Bool {
        gradient.end.isFinite && gradient.end >= gradientGrowth * gradient.start && fell(from: error.start, to: error.end, by: errorDrop)
    }
}

extension Verdict {
    /// A curve is "flat" between two points when they differ by at most this share of the first.
    public static let flatness = 0.02

    /// Whether `next` is within `flatness` of `start`, relative.
    public static func isFlat(_ start: Double, _ next: Double) -> Bool {
        start.isFinite && next.isFinite && Swift.abs(next - start) <= flatness * Swift.abs(start)
    }
}

extension Verdict {
    /// Whether training worked: `final` is at most `trainedShare` of `initial`.
    public static func trained(from initial: Double, to final: Double) -> Bool { fell(from: initial, to: final, by: 1 - trainedShare) }

    /// Whether `far` stands above `near` by more than `noiseMultiple` standard errors `noise`.
    public static func risesBeyondNoise(from near: Double, to far: Double, noise: Double) -> Bool {
        near.isFinite && far.isFinite && far > near + noiseMultiple * noise
    }

    /// Adversarial training "resists better" when its accuracy on its own adversarial examples beats plain training's by this much.
    public static let robustnessGain = 0.1

    /// Whether `robust` beats `plain` by at least `robustnessGain`.
    public static func resistsBetter(_ robust: Double, than plain: Double) -> Bool { robust.isFinite && robust >= plain + robustnessGain }

    /// Training "strays" from the straight line when some snapshot lies this share of the line's length off it.
    public static let offLineShare = 0.05

    /// Whether the largest of `distances` off the line exceeds `offLineShare` of `length`.
    public static func strays(_ distances: [Double], length: Double) -> Bool {
        distances.allSatisfy(\.isFinite) && (distances.max() ?? 0) > offLineShare * length
    }

    /// Whether a point searched for criticality is near-critical: its gradient norm at most
    /// `searchedPointShare` of `initial`, the norm where its network started.
    public static func isNearCritical(gradientNorm: Double, initial: Double) -> Bool {
        gradientNorm.isFinite && gradientNorm <= searchedPointShare * initial
    }

    /// A point's error is "high" at this share of the chance-level cross-entropy ln(classes) and above.
    public static let highErrorShare = 0.8

    /// Whether `loss` is high for `classes` classes.
    public static func isHighError(_ loss: Double, classes: Int) -> Bool {
        loss.isFinite && loss >= highErrorShare * Foundation.log(Double(classes))
    }

    /// Whether the relative spread of end losses is at most `similarMinima`.
    public static func areSimilar(spread: Double) -> Bool { spread.isFinite && spread <= similarMinima }

    /// A node of a stochastic Lanczos quadrature counts as negative below this share of the
    /// largest |node| (Ritz values of the null space scatter around zero far below it).
    public static let negativeNodeShare = 1e-3

    /// The share of the quadrature's weight on negative nodes.
    public static func negativeMass(nodes: [Double], weights: [Double]) -> Double {
        guard nodes.count == weights.count, !nodes.isEmpty else { return .nan }
        let scale = nodes.map { Swift.abs($0) }.max() ?? 0
        let total = weights.reduce(0, +)
        let negative = zip(nodes, weights).filter { $0.0 < -negativeNodeShare * scale }.map(\.1).reduce(0, +)
        return total > 0 ? negative / total : .nan
    }

    /// The negative mass "shrinks" when it ends at most this share of where it started.
    public static let negativeMassShrink = 0.5

    /// Whether the negative mass fell from `start` to at most `negativeMassShrink` of it at `end`.
    public static func negativeMassShrank(from start: Double, to end: Double) -> Bool { fell(from: start, to: end, by: 1 - negativeMassShrink) }

    /// A path reached the minimum at |y| = 1 when within this distance of it.
    public static let reachedTolerance = 1e-3

    /// Whether `value` is within `reachedTolerance` of `target`.
    public static func reached(_ value: Double, _ target: Double) -> Bool { value.isFinite && Swift.abs(value - target) <= reachedTolerance }
}

