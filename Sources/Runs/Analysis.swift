import Foundation
import SaddleCore
import SaddleRegistry
import SaddleTraining

/// What `saddle analyze` reports about a checkpoint: the loss, gradient norm, extreme
/// eigenvalues, index and classification of the Hessian of the training loss, and for small
/// models the whole spectrum as a histogram.
public struct CurvatureReport: Sendable {
    /// The number of parameters (the Hessian's dimension).
    public var parameters: Int
    /// The number of training examples the loss was taken over.
    public var examples: Int
    /// The forward mode the loss was evaluated in.
    public var mode: ForwardMode
    /// The training loss at the checkpoint, over those examples.
    public var loss: Double
    /// The Euclidean norm of the loss's gradient at the checkpoint.
    public var gradientNorm: Double
    /// "full" (every eigenvalue, dsyevd) or "lanczos".
    public var method: String
    /// The smallest eigenvalues (or their Lanczos estimates), smallest first.
    public var smallest: [Double]
    /// The largest eigenvalues (or their Lanczos estimates), largest first.
    public var largest: [Double]
    /// The kind and index of the point, from the whole spectrum or, for Lanczos, from the extreme estimates only.
    public var classification: CriticalPointClassification
    /// Bin edges and counts of the full spectrum (empty for Lanczos).
    public var histogramEdges: [Double]
    /// The number of eigenvalues in each histogram bin (empty for Lanczos).
    public var histogramCounts: [Int]
    /// Whether the eigenvalues converged (always true for the full spectrum).
    public var converged: Bool
    /// The analysis's wall-clock time, in seconds.
    public var seconds: Double

    /// The report as a JSON object with snake_case keys (`saddle analyze --json`).
    public var json: JSONValue {
        .object([
            ("parameters", .number(Double(parameters))), ("examples", .number(Double(examples))), ("mode", .string(mode.rawValue)),
            ("loss", .number(loss)), ("gradient_norm", .number(gradientNorm)), ("method", .string(method)),
            ("smallest_eigenvalues", .array(smallest.map { .number($0) })), ("largest_eigenvalues", .array(largest.map { .number($0) })),
            ("classification", .string(classification.kind.rawValue)), ("index", .number(classification.index)),
            ("index_of", .string(method == "full" ? "spectrum" : "extreme_estimates")),
            ("negative", .number(Double(classification.negative))), ("zero", .number(Double(classification.zero))),
            ("positive", .number(Double(classification.positive))), ("zero_threshold", .number(classification.zeroThreshold)),
            ("converged", .bool(converged)),
            ("histogram", .object([
                ("edges", .array(histogramEdges.map { .number($0) })), ("counts", .array(histogramCounts.map { .number(Double($0)) })),
            ])),
            ("seconds", .number(seconds)),
        ])
    }

    /// The report as readable lines, with a bar histogram of the full spectrum when there is one.
    public var text: String {
        var lines = [
            "\(parameters) parameters, \(examples) training examples, \(mode.rawValue) mode",
            "loss \(loss), gradient norm \(gradientNorm)",
            "\(method == "full" ? "full spectrum" : "Lanczos estimates")\(converged ? "" : " (not fully converged)"): smallest \(smallest.map { format($0) }.joined(separator: ", ")); largest \(largest.map { format($0) }.joined(separator: ", "))",
            method == "full"
                ? classification.summary
                : "\(classification.kind.rawValue) by the extreme estimates: \(classification.negative) negative, \(classification.zero) zero, \(classification.positive) positive of the \(smallest.count + largest.count) estimates, gradient norm \(classification.gradientNorm) (the share \(format(classification.index)) is of these estimates, not the index of the whole spectrum: a model this large gets Lanczos estimates of the extremes only)",
        ]
        if !histogramCounts.isEmpty {
            let peak = Double(histogramCounts.max() ?? 1)
            for (k, count) in histogramCounts.enumerated() {
                let bar = String(repeating: "#", count: Int((40 * Double(count) / Swift.max(peak, 1)).rounded(.up)))
                lines.append(String(format: "%12.4g .. %-12.4g %6d %@", histogramEdges[k], histogramEdges[k + 1], count, bar))
            }
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ x: Double) -> String { String(format: "%.6g", x) }
}

extension Run {
    /// Analyses the curvature of a checkpoint's training loss (never changing the checkpoint or
    /// the model): in Float64, on up to `examples` training examples, in `mode`.
    ///
    /// With a `communicator` of several processes (under `mpirun`), each process holds a
    /// contiguous share of the examples and every value, gradient, Hessian-vector product and
    /// Hessian is summed over the shares (`DataParallelObjective`), so every process reports
    /// what one process would, to rounding. (In training mode, BatchNorm then uses each share's
    /// batch statistics.)
    /// - Throws: configuration, data, checkpoint and linear-algebra errors; `DistributedError`.
    public static func analyze(
        checkpoint url: URL, configuration: RunConfiguration? = nil, registry: Registry, examples: Int = 2000,
        mode: ForwardMode = .inference, fullSpectrumLimit: Int = 3000, lanczosCount: Int = 5,
        communicator: any Communicator = SingleProcess()
    ) throws -> CurvatureReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let (_, run, data, model) = try Run.loaded(url, configuration: configuration, registry: registry)
        let count = Swift.min(examples, data.training.count)
        let share = communicator.share(of: count)
        let objective = SupervisedObjective(
            model: model, loss: try run.buildLoss(), input: try data.training.features.rows(share),
            target: try data.training.labels.rows(share), mode: mode)
        if communicator.size > 1 {
            let sharded = DataParallelObjective(base: objective, communicator: communicator, examples: share.count, globalExamples: count)
            return try analyze(sharded, file: url.path, count: count, mode: mode, fullSpectrumLimit: fullSpectrumLimit, lanczosCount: lanczosCount, start: start)
        }
        return try analyze(objective, file: url.path, count: count, mode: mode, fullSpectrumLimit: fullSpectrumLimit, lanczosCount: lanczosCount, start: start)
    }

    private static func analyze<O: Objective>(
        _ objective: O, file: String, count: Int, mode: ForwardMode, fullSpectrumLimit: Int, lanczosCount: Int, start: UInt64
    ) throws -> CurvatureReport {
        let url = URL(fileURLWithPath: file)
        let curvature = try Curvature(objective)
        let theta = try curvature.flatPoint()
        let gradientNorm = try curvature.gradient(at: theta).squaredNorm.squareRoot()
        let loss = try curvature.value(at: theta)
        guard loss.isFinite, gradientNorm.isFinite else {
            throw AnalysisError.nonFinite(file: url.path, what: "the loss is \(loss) and the gradient norm \(gradientNorm) at this checkpoint")
        }
        let classifier = CriticalPointClassifier()
        if curvature.dimension <= fullSpectrumLimit {
            let (values, _) = try curvature.spectrum(at: theta, limit: fullSpectrumLimit)
            guard values.allSatisfy(\.isFinite) else {
                throw AnalysisError.nonFinite(file: url.path, what: "the Hessian's eigenvalues are not all finite")
            }
            let k = Swift.min(lanczosCount, values.count)
            let (edges, counts) = histogram(values, bins: 20)
            return CurvatureReport(
                parameters: curvature.dimension, examples: count, mode: mode, loss: loss, gradientNorm: gradientNorm, method: "full",
                smallest: Array(values.prefix(k)), largest: Array(values.suffix(k).reversed()),
                classification: classifier.classify(gradientNorm: gradientNorm, eigenvalues: values),
                histogramEdges: edges, histogramCounts: counts, converged: true,
                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let result = try Lanczos.extremeEigenvalues(dimension: curvature.dimension, count: lanczosCount) {
            try curvature.hessianVectorProduct($0, at: theta)
        }
        guard (result.smallest + result.largest).allSatisfy(\.isFinite) else {
            throw AnalysisError.nonFinite(file: url.path, what: "the Lanczos estimates of the Hessian's eigenvalues are not all finite")
        }
        return CurvatureReport(
            parameters: curvature.dimension, examples: count, mode: mode, loss: loss, gradientNorm: gradientNorm, method: "lanczos",
            smallest: result.smallest, largest: result.largest,
            classification: classifier.classify(gradientNorm: gradientNorm, eigenvalues: result.smallest + result.largest),
            histogramEdges: [], histogramCounts: [], converged: result.converged,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}

/// Errors of curvature analyses.
public enum AnalysisError: Error, Equatable, CustomStringConvertible {
    /// A loss, gradient or eigenvalue came out NaN or infinite.
    case nonFinite(file: String, what: String)

    /// The error as a sentence naming the checkpoint.
    public var description: String {
        switch self {
        case let .nonFinite(file, what): "\(file): \(what); curvature is undefined there"
        }
    }
}

/// Equal-width bins over the finite values' range: `bins + 1` edges and `bins` counts
/// (non-finite values are not counted; a range too wide for Double gives no bins).
func histogram(_ values: [Double], bins: Int) -> ([Double], [Int]) {
    let finite = values.filter(\.isFinite)
    guard bins >= 1, let low = finite.min(), let high = finite.max() else { return ([], []) }
    let width = high > low ? (high - low) / Double(bins) : 1
    guard width.isFinite, width > 0 else { return ([], []) }
    let edges = (0...bins).map { low + width * Double($0) }
    var counts = [Int](repeating: 0, count: bins)
    for value in finite {
        let position = ((value - low) / width).rounded(.down)
        counts[Int(Swift.min(Swift.max(position, 0), Double(bins - 1)))] += 1
    }
    return (edges, counts)
}
