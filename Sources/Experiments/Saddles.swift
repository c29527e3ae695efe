import SaddleCore
import SaddleData
import SaddleLayers
import SaddleOptimizers

/// A function of two variables as an objective over the parameter "p" = [x, y] (Float64).
public struct PlaneObjective: Objective {
    /// The starting point, under "p" as [x, y].
    public var parameters: NamedTensors
    let function: @Sendable (Tensor, Tensor) throws -> Tensor

    /// The objective `function(x, y)` starting at (x, y); a non-scalar result is summed.
    public init(x: Double, y: Double, _ function: @escaping @Sendable (Tensor, Tensor) throws -> Tensor) {
        parameters = ["p": Tensor([x, y])]
        self.function = function
    }

    /// `function` at the two entries of "p", summed.
    /// - Throws: `TensorError` when "p" is missing or does not hold two entries; whatever `function` throws.
    public func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
        guard let p = parameters["p"] else { throw TensorError.invalidArgument(op: "plane objective", reason: "no parameter \"p\"") }
        let parts = try p.split(sizes: [1, 1], alongAxis: 0)
        return ObjectiveOutput(loss: try function(parts[0], parts[1]).sum())
    }

    /// x^2 - y^2: a saddle at the origin.
    public static func saddle(x: Double, y: Double) -> PlaneObjective {
        PlaneObjective(x: x, y: y) { x, y in try x.squared() - y.squared() }
    }

    /// x^2 / 2 + y^4 / 4 - y^2 / 2: a saddle at the origin, minima at (0, +-1).
    public static func quartic(x: Double, y: Double) -> PlaneObjective {
        PlaneObjective(x: x, y: y) { x, y in try x.squared() * 0.5 + pow(y, 4) * 0.25 - y.squared() * 0.5 }
    }

    /// The (x, y) of parameters.
    public static func point(_ parameters: NamedTensors) -> (Double, Double) {
        let values = parameters["p"]?.doubles ?? [.nan, .nan]
        return (values[0], values[1])
    }
}

extension Experiments {
    /// The points an optimizer visits on `objective` in `steps` steps (the start included);
    /// stops early if a step fails.
    public static func trajectory(_ objective: PlaneObjective, _ optimizer: some Optimizer, steps: Int) -> [(x: Double, y: Double)] {
        var optimizer = optimizer
        var p = objective.parameters
        var points = [PlaneObjective.point(p)]
        for _ in 0..<steps {
            guard (try? optimizer.step(&p, objective: objective)) != nil else { break }
            points.append(PlaneObjective.point(p))
        }
        return points.map { (x: $0.0, y: $0.1) }
    }

    static func saddlesReport() throws -> ExperimentResult {
        let saddle = PlaneObjective.saddle(x: 1, y: 1e-3)
        let newton = trajectory(saddle, try Newton(), steps: 10)
        let gd = trajectory(saddle, try SGD(learningRate: 0.1), steps: 30)
        let sfn = trajectory(saddle, try SaddleFreeNewton(), steps: 4)
        let damped = trajectory(saddle, try DampedNewton(damping: 10), steps: 30)
        let growth = zip(gd, gd.dropFirst()).map { $1.y / $0.y }
        var checks = [
            Check("Newton lands on the saddle (0, 0) in one step and stays", Swift.abs(newton[1].x) < 1e-15 && Swift.abs(newton[newton.count - 1].y) < 1e-15,
                  "after one step (\(format(newton[1].x)), \(format(newton[1].y)))"),
            Check("gradient descent (learning rate 0.1) escapes along y by a factor 1.2 per step",
                  growth.allSatisfy { Swift.abs($0 - 1.2) <= 1e-13 }, "factors from \(format(growth.min() ?? 0)) to \(format(growth.max() ?? 0))"),
            Check("saddle-free Newton escapes at once", Swift.abs(sfn[sfn.count - 1].y) > 10 * Swift.abs(sfn[0].y),
                  "|y| from \(format(sfn[0].y)) to \(format(Swift.abs(sfn[sfn.count - 1].y))) in \(sfn.count - 1) steps"),
            Check("damped Newton (mu = 10) escapes slowly, by 1 + 2 / (mu - 2) = 1.25 per step",
                  Swift.abs(damped[1].y / damped[0].y - 1.25) < 1e-12, "first factor \(format(damped[1].y / damped[0].y))"),
        ]
        let quartic = PlaneObjective.quartic(x: 0.5, y: 0.1)
        let qNewton = trajectory(quartic, try Newton(), steps: 12)
        let qSFN = trajectory(quartic, try SaddleFreeNewton(), steps: 20)
        checks.append(Check(
            "on x^2/2 + y^4/4 - y^2/2 from (0.5, 0.1), Newton goes to the saddle and saddle-free Newton to a minimum (0, +-1)",
            Swift.abs(qNewton[qNewton.count - 1].y) < 1e-12 && Swift.abs(Swift.abs(qSFN[qSFN.count - 1].y) - 1) < 1e-10,
            "Newton ends at y = \(format(qNewton[qNewton.count - 1].y)), saddle-free Newton at y = \(format(qSFN[qSFN.count - 1].y))"))
        func absY(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] { points.enumerated().map { (x: Double($0.offset), y: Swift.abs($0.element.y)) } }
        // Level curves x^2 - y^2 = c over the window the paths visit: x = +-sqrt(c + y^2).
        let ys = stride(from: -0.3, through: 0.3, by: 0.01).map { $0 }
        var levels: [Figure.Series] = []
        for c in [0.02, 0.08, 0.2, 0.4, 0.7, 1.0] {
            let curve = ys.map { (x: (c + $0 * $0).squareRoot(), y: $0) }
            levels.append(Figure.Series("x^2 - y^2 = \(c)", curve.filter { $0.x <= 1.05 }, isGuide: true))
        }
        for c in [-0.08, -0.02] {
            // Below zero the level set crosses x = 0: draw y = +-sqrt(x^2 - c) over x in [0, 1].
            for sign in [1.0, -1.0] {
                let curve = stride(from: 0.0, through: 1.0, by: 0.02).map { (x: $0, y: sign * ($0 * $0 - c).squareRoot()) }.filter { Swift.abs($0.y) <= 0.3 }
                levels.append(Figure.Series("x^2 - y^2 = \(c)", curve, isGuide: true))
            }
        }
        let window = { (points: [(x: Double, y: Double)]) in points.filter { Swift.abs($0.y) <= 0.3 && $0.x >= -0.05 && $0.x <= 1.05 } }
        return ExperimentResult(
            id: "saddles", title: "1. Gradient descent flees saddles; Newton is drawn to them",
            description: "Optimizers on f(x, y) = x^2 - y^2 from (1, 0.001), and on x^2/2 + y^4/4 - y^2/2 from (0.5, 0.1), in Float64.",
            figures: [
                Figure(
                    title: "x^2 - y^2 from (1, 0.001): distance from the saddle along y", xLabel: "step", yLabel: "|y|", logY: true,
                    series: [Figure.Series("Newton", absY(newton)), Figure.Series("gradient descent", absY(gd)),
                             Figure.Series("saddle-free Newton", absY(sfn)), Figure.Series("damped Newton, mu 10", absY(damped))]),
                Figure(
                    title: "x^2 - y^2 from (1, 0.001): the paths over the level curves", xLabel: "x", yLabel: "y",
                    series: levels + [Figure.Series("Newton", window(newton)), Figure.Series("gradient descent", window(gd)),
                                      Figure.Series("saddle-free Newton", window(sfn)), Figure.Series("damped Newton, mu 10", window(damped))]),
                Figure(
                    title: "x^2/2 + y^4/4 - y^2/2 from (0.5, 0.1)", xLabel: "x", yLabel: "y",
                    series: [Figure.Series("Newton", qNewton), Figure.Series("saddle-free Newton", qSFN)]),
            ],
            checks: checks)
    }
}
