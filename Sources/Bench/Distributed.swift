import Dispatch
import Saddle

/// The data-parallel workloads of ../shared/bench/torch_ddp_bench.py: the 784-1024-1024-10 MLP
/// at a global batch of 256 and the Fashion-MNIST CNN at a global batch of 128 (SGD with
/// momentum, softmax cross-entropy). Under `mpirun` every rank trains on its contiguous share of
/// the global batch and gradients are summed in one collective per step; alone, the process
/// trains on the whole global batch with its thread count. Blocks of steps are timed between
/// barriers; rank 0 reports. Also times the collective alone (the cost model's latency and
/// bandwidth) and each step's split between computing and communicating.
func distributedResults(repeats: Int, communicator: any Communicator) throws -> [(String, Any)] {
    var results: [(String, Any)] = [("ranks", communicator.size), ("threads_per_rank", ComputeThreads.count)]
    let mpi = communicator as? MPICommunicator
    func barrier() throws { try mpi?.barrier() }
    let workloads: [(String, Int, (inout RandomGenerator) throws -> (any Layer, Tensor, Tensor))] = [
        ("mlp_784_1024_1024_10_gb256", 256, { g in
            let model = try mlp([784, 1024, 1024, 10], using: &g)
            let (x, y) = classificationBatch(256, features: 784, classes: 10, using: &g)
            return (model, x, y)
        }),
        ("cnn_fmnist_gb128", 128, { g in
            let model = try fashionCNN(using: &g)
            let x = Tensor.randomNormal([128, 1, 28, 28], using: &g)
            let labels = (0..<128).map { _ in Float(g.next() % 10) }
            return (model, x, Tensor(labels))
        }),
    ]
    for (key, batch, make) in workloads {
        var generator = RandomGenerator(seed: 0)
        let (model, x, y) = try make(&generator)
        let share = communicator.share(of: batch)
        let local = SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: try x.rows(share), target: try y.rows(share))
        let objective = DataParallelObjective(base: local, communicator: communicator, examples: share.count, globalExamples: batch)
        var parameters = model.parameters
        var optimizer = try SGD(learningRate: 0.01, momentum: 0.9)
        let steps = 10
        for _ in 0..<3 { _ = try optimizer.step(&parameters, objective: objective) }
        var blocks: [Double] = []
        for _ in 0..<repeats {
            try barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps { _ = try optimizer.step(&parameters, objective: objective) }
            try barrier()
            blocks.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(steps))
        }
        results.append(("\(key)_step_ms", blocks.sorted()[blocks.count / 2]))
        // The step's parts: this rank's gradient alone, and the collective over a buffer of the
        // parameters' size.
        let computeMs = try time(steps: steps, repeats: repeats) {
            _ = try local.valueAndGradient(at: parameters)
        }.median * 1e3
        try barrier()
        let summedMs = try time(steps: steps, repeats: repeats) {
            _ = try objective.valueAndGradient(at: parameters)
        }.median * 1e3
        results.append(("\(key)_gradient_and_allreduce_ms", summedMs))
        let gradients = parameters.tensors
        try barrier()
        let fusedMs = try time(steps: steps, repeats: repeats) { _ = try communicator.sum(gradients) }.median * 1e3
        results.append(("\(key)_fused_allreduce_ms", fusedMs))
        var buffer = [Float](repeating: 1, count: parameters.scalarCount + 1)
        try barrier()
        let communicateMs = try time(steps: steps, repeats: repeats) { try communicator.sum(&buffer) }.median * 1e3
        results += [("\(key)_compute_ms", computeMs), ("\(key)_allreduce_ms", communicateMs), ("\(key)_params", parameters.scalarCount)]
    }
    // The collective's latency: one float.
    var one: [Float] = [1]
    try barrier()
    results.append(("allreduce_1_float_us", try time(steps: 200, repeats: repeats) { try communicator.sum(&one) }.median * 1e6))
    return results
}
