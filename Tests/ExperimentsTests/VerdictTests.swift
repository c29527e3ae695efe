import Foundation
import SaddleExperiments
import Testing

/// Every threshold of the report's verdicts, tested on synthetic numbers on both sides of the
/// line, so that "held" means something: each pair differs only where the verdict must flip.
@Suite("Verdict thresholds")
struct VerdictTests {
    @Test("exact zero, agreement and escape flip at their thresholds")
    func exactness() {
        #expect(Verdict.isExactlyZero(0.5 * Verdict.exactZero) && !Verdict.isExactlyZero(2 * Verdict.exactZero))
        #expect(Verdict.agrees(1.2 * (1 + 0.5 * Verdict.relativeAgreement), 1.2) && !Verdict.agrees(1.2 * (1 + 2 * Verdict.relativeAgreement), 1.2))
        #expect(Verdict.escaped(from: 1, to: Verdict.escapeFactor) && !Verdict.escaped(from: 1, to: 0.9 * Verdict.escapeFactor))
        #expect(!Verdict.escaped(from: 1, to: .nan))
        #expect(Verdict.isLeaving([1, 0.9, 1.2, 1.5, Verdict.departureFactor]) && !Verdict.isLeaving([1, 0.9, 1.2, 1.5, 0.99 * Verdict.departureFactor]))
        #expect(!Verdict.isLeaving([1, 0.9, 2.5, 2.4, Verdict.departureFactor * 1.5]))
        #expect(!Verdict.isLeaving([1, .nan, 3]))
    }

    @Test("a rise within the noise keeps a curve monotone; one beyond it does not; NaN never passes")
    func monotone() {
        let noise = [0.1, 0.1, 0.1, 0.1]
        #expect(Verdict.isMonotone([3, 2, 2 + 0.9 * Verdict.noiseMultiple * 0.1, 1], noise: noise))
        #expect(!Verdict.isMonotone([3, 2, 2 + 1.1 * Verdict.noiseMultiple * 0.1, 1], noise: noise))
        #expect(!Verdict.isMonotone([3, .nan, 1, 0.5], noise: noise))
        #expect(!Verdict.isMonotone([3, 2, 1], noise: noise))
    }

    @Test("a barrier needs the interior to stand above the ends by the share and beyond the noise")
    func barrier() {
        let noise = [0.01, 0.01, 0.01]
        #expect(Verdict.hasBarrier([0.2, 0.2 * (1 + 1.1 * Verdict.barrierShare), 0.1], noise: noise))
        #expect(!Verdict.hasBarrier([0.2, 0.2 * (1 + 0.9 * Verdict.barrierShare), 0.1], noise: noise))
        // Above the share but within the noise: no barrier.
        #expect(!Verdict.hasBarrier([0.2, 0.2 * (1 + 1.1 * Verdict.barrierShare), 0.1], noise: [1, 1, 1]))
        #expect(!Verdict.hasBarrier([0.2, .nan, 0.1], noise: noise))
    }

    @Test("a curve follows a closed form within the tolerance of its scale")
    func follows() {
        #expect(Verdict.follows([1, 2], [1, 2 + 0.9 * Verdict.curveTolerance], scale: 1))
        #expect(!Verdict.follows([1, 2], [1, 2 + 1.1 * Verdict.curveTolerance], scale: 1))
        #expect(!Verdict.follows([1, .nan], [1, 2], scale: 1))
    }

    @Test("first-order convergence: gaps must shrink by the factor when the step halves")
    func firstOrder() {
        #expect(Verdict.convergesAtFirstOrder([0.4, 0.4 / (1.05 * Verdict.firstOrderShrink)]))
        #expect(!Verdict.convergesAtFirstOrder([0.4, 0.4 / (0.95 * Verdict.firstOrderShrink)]))
        #expect(!Verdict.convergesAtFirstOrder([0.4]))
    }

    @Test("faster, depth-independent and slowing with depth flip at their ratios")
    func speed() {
        #expect(Verdict.isFaster(100, than: Int(Verdict.speedup * 100)) && !Verdict.isFaster(100, than: Int(Verdict.speedup * 100) - 1))
        #expect(Verdict.isFaster(100, than: nil) && !Verdict.isFaster(nil, than: 100))
        #expect(Verdict.isDepthIndependent([10, 12, Int(Verdict.depthSpread * 10)]))
        #expect(!Verdict.isDepthIndependent([10, 12, Int(Verdict.depthSpread * 10) + 1]))
        #expect(!Verdict.isDepthIndependent([10, nil, 12]))
        #expect(Verdict.slowsWithDepth([10, 15, Int(Verdict.speedup * 10)]) && !Verdict.slowsWithDepth([10, 15, Int(Verdict.speedup * 10) - 1]))
        #expect(Verdict.slowsWithDepth([10, 15, nil]) && !Verdict.slowsWithDepth([nil, 15, nil]))
    }

    @Test("deeper-is-worse and stability flip at their margins")
    func depthAndStability() {
        let line = 0.2 * (1 + Verdict.depthMargin) + 0.01
        #expect(Verdict.deeperIsWorse(shallow: 0.2, deep: line * 1.01) && !Verdict.deeperIsWorse(shallow: 0.2, deep: line * 0.99))
        #expect(Verdict.deeperIsWorse(shallow: 0.2, deep: .nan) && !Verdict.deeperIsWorse(shallow: .nan, deep: 1))
        #expect(Verdict.isStable(0.99 * Verdict.stabilityShare, against: 1) && !Verdict.isStable(1.01 * Verdict.stabilityShare, against: 1))
        #expect(!Verdict.isStable(.nan, against: 1))
    }

    @Test("function preservation and staying below flip at their tolerances")
    func growth() {
        #expect(Verdict.preserves(1 + 0.5 * Verdict.preservationFloat64, 1, tolerance: Verdict.preservationFloat64))
        #expect(!Verdict.preserves(1 + 2 * Verdict.preservationFloat64, 1, tolerance: Verdict.preservationFloat64))
        #expect(Verdict.preserves(1 + 0.5 * Verdict.preservationFloat32, 1, tolerance: Verdict.preservationFloat32))
        #expect(!Verdict.preserves(1 + 2 * Verdict.preservationFloat32, 1, tolerance: Verdict.preservationFloat32))
        #expect(Verdict.staysBelow([1, 0.5], [[1.1, 0.6], [2, 1]]))
        #expect(!Verdict.staysBelow([1, 0.5], [[1.1, 0.5]]))
        #expect(!Verdict.staysBelow([1, 0.5], [[1.1]]))
    }

    @Test("rank correlation, index correlation and nearness to a minimum flip at their thresholds")
    func criticalPoints() {
        #expect(Swift.abs(Verdict.rankCorrelation([1, 2, 3, 4], [10, 20, 30, 40]) - 1) < 1e-12)
        #expect(Swift.abs(Verdict.rankCorrelation([1, 2, 3, 4], [40, 30, 20, 10]) + 1) < 1e-12)
        #expect(Verdict.rankCorrelation([1, 1, 1], [1, 2, 3]).isNaN)
        // Spearman rho 0.8 (two swaps of neighbours) against -0.1.
        #expect(Verdict.errorGrowsWithIndex(losses: [1, 2, 3, 4, 5], indices: [2, 1, 3, 5, 4]))
        #expect(!Verdict.errorGrowsWithIndex(losses: [1, 2, 3, 4, 5], indices: [3, 5, 1, 2, 4]))
        #expect(Verdict.isNearMinimum(index: Verdict.nearMinimumIndex, gradientNorm: 0.5 * Verdict.nearCriticalShare, initial: 1))
        #expect(!Verdict.isNearMinimum(index: 1.5 * Verdict.nearMinimumIndex, gradientNorm: 0.5 * Verdict.nearCriticalShare, initial: 1))
        #expect(!Verdict.isNearMinimum(index: 0, gradientNorm: 2 * Verdict.nearCriticalShare, initial: 1))
        #expect(Verdict.isNearCritical(gradientNorm: 0.99 * Verdict.searchedPointShare, initial: 1))
        #expect(!Verdict.isNearCritical(gradientNorm: 1.01 * Verdict.searchedPointShare, initial: 1))
        let chance = Foundation.log(10.0)
        #expect(Verdict.isHighError(1.01 * Verdict.highErrorShare * chance, classes: 10) && !Verdict.isHighError(0.99 * Verdict.highErrorShare * chance, classes: 10))
    }

    @Test("spread, falls and gradient growth flip at their thresholds")
    func dynamics() {
        #expect(Swift.abs(Verdict.spread([1, 3]) - 2.0.squareRoot() / 2) < 1e-12)
        #expect(Verdict.spread([1, .nan]).isNaN)
        #expect(Verdict.areSimilar(spread: 0.99 * Verdict.similarMinima) && !Verdict.areSimilar(spread: 1.01 * Verdict.similarMinima))
        // A node just below -share * scale counts as negative; one just above does not.
        let share = Verdict.negativeNodeShare
        #expect(Swift.abs(Verdict.negativeMass(nodes: [10, -1.01 * share * 10, 0], weights: [0.5, 0.25, 0.25]) - 0.25) < 1e-15)
        #expect(Verdict.negativeMass(nodes: [10, -0.99 * share * 10, 0], weights: [0.5, 0.25, 0.25]) == 0)
        #expect(Verdict.negativeMassShrank(from: 0.2, to: 0.99 * 0.2 * Verdict.negativeMassShrink))
        #expect(!Verdict.negativeMassShrank(from: 0.2, to: 1.01 * 0.2 * Verdict.negativeMassShrink))
        #expect(Verdict.fell(from: 1, to: 0.49, by: 0.5) && !Verdict.fell(from: 1, to: 0.51, by: 0.5))
        let error = (start: 0.2, end: 0.2 * (1 - Verdict.errorDrop) * 0.99)
        #expect(Verdict.succeedsWhileGradientGrows(gradient: (1, 1.01 * Verdict.gradientGrowth), error: error))
        #expect(!Verdict.succeedsWhileGradientGrows(gradient: (1, 0.99 * Verdict.gradientGrowth), error: error))
        #expect(!Verdict.succeedsWhileGradientGrows(gradient: (1, 2 * Verdict.gradientGrowth), error: (0.2, 0.2 * (1 - Verdict.errorDrop) * 1.01)))
        #expect(Verdict.isFlat(1, 1 + 0.9 * Verdict.flatness) && !Verdict.isFlat(1, 1 + 1.1 * Verdict.flatness))
        #expect(Verdict.trained(from: 2, to: 0.99 * 2 * Verdict.trainedShare) && !Verdict.trained(from: 2, to: 1.01 * 2 * Verdict.trainedShare))
        #expect(Verdict.risesBeyondNoise(from: 1, to: 1 + 1.1 * Verdict.noiseMultiple * 0.1, noise: 0.1))
        #expect(!Verdict.risesBeyondNoise(from: 1, to: 1 + 0.9 * Verdict.noiseMultiple * 0.1, noise: 0.1))
        #expect(Verdict.resistsBetter(0.6 + Verdict.robustnessGain, than: 0.6) && !Verdict.resistsBetter(0.59 + Verdict.robustnessGain, than: 0.6))
        #expect(Verdict.strays([0.1, 1.01 * Verdict.offLineShare * 10], length: 10) && !Verdict.strays([0.1, 0.99 * Verdict.offLineShare * 10], length: 10))
        #expect(Verdict.reached(1 + 0.9 * Verdict.reachedTolerance, 1) && !Verdict.reached(1 + 1.1 * Verdict.reachedTolerance, 1))
    }
}
