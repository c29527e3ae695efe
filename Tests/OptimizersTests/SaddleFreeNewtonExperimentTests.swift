import Saddle
import SaddleTestSupport
import Testing

/// The claim of Dauphin et al. (2014) on a real network: on the full digits training set, a
/// 64-4-10 tanh MLP (310 parameters), saddle-free Newton after 10 iterations reaches a lower
/// training loss than gradient descent after 100 iterations at its best learning rate from a
/// grid, from the same start.
@Suite("Saddle-free Newton against gradient descent on digits")
struct SaddleFreeNewtonExperimentTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func saddleFreeNewtonBeatsTunedGradientDescent(seed: UInt64) throws {
        let digits = try Digits.load(dtype: .float64)
        let (train, _) = try digits.split(validationFraction: 0.2, seed: 0)
        let data = try Standardization(fittedTo: train).apply(to: train)
        var g = RandomGenerator(seed: seed)
        let model = try Sequential {
            try Dense(inputSize: 64, units: 4, dtype: .float64, using: &g)
            Tanh()
            try Dense(inputSize: 4, units: 10, dtype: .float64, using: &g)
        }
        #expect(model.parameterCount == 310)
        let objective = SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: data.features, target: data.labels)
        let start = model.parameters

        var sfn = try SaddleFreeNewton()
        var p = start
        for _ in 0..<10 { _ = try sfn.step(&p, objective: objective) }
        let sfnLoss = try objective.value(at: p)

        var bestGD = Double.infinity
        var bestRate = 0.0
        for rate in [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0] {
            var gd = try SGD(learningRate: rate)
            var q = start
            for _ in 0..<100 { _ = try gd.step(&q, objective: objective) }
            let loss = try objective.value(at: q)
            if loss < bestGD {
                bestGD = loss
                bestRate = rate
            }
        }
        #expect(sfnLoss < bestGD, "seed \(seed): saddle-free Newton \(sfnLoss) after 10 iterations, gradient descent \(bestGD) after 100 at rate \(bestRate)")
        print("seed \(seed): saddle-free Newton \(sfnLoss) after 10 iterations; gradient descent \(bestGD) after 100 at rate \(bestRate)")
    }
}
