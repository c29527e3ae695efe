import Saddle
import SaddleTestSupport
import Testing

@Suite("Standardization")
struct StandardizationTests {
    /// 5000 rows of 1024 features: statistics are combined over three blocks of rows.
    @Test("blockwise statistics equal the two-pass Float64 ones, per feature and scalar")
    func blockwiseStatistics() throws {
        var g = RandomGenerator(seed: 3)
        let rows = 5000, columns = 1024
        let x = try Tensor.randomNormal([rows, columns], dtype: .float32, using: &g) * 3 + 100
        let labels = Tensor.zeros([rows], dtype: .float32)
        let data = try Dataset(features: x, labels: labels, classCount: 1)
        let exact = x.converted(to: .float64)
        let mean = try exact.mean(alongAxis: 0)
        let deviation = try sqrt((exact - mean).squared().mean(alongAxis: 0))
        let fitted = try Standardization(fittedTo: data)
        #expect(TestSupport.maxAbsDifference(fitted.mean.doubles, mean.doubles) <= 1e-9)
        #expect(TestSupport.maxAbsDifference(fitted.standardDeviation.doubles, deviation.doubles) <= 1e-9)
        let scalar = try Standardization(fittedTo: data, granularity: .scalar)
        let m = try exact.mean().item()
        let s = try (exact - m).squared().mean().item().squareRoot()
        let scalarMean = try scalar.mean.item(), scalarDeviation = try scalar.standardDeviation.item()
        #expect(Swift.abs(scalarMean - m) <= 1e-9 && Swift.abs(scalarDeviation - s) <= 1e-9)
        #expect(scalar.mean.shape == [] && fitted.mean.shape == [columns])
        let standardized = try fitted.apply(to: data).features.converted(to: .float64)
        #expect(Swift.abs(try standardized.mean().item()) <= 1e-4)
    }
}
