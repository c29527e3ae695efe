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

    /// x^3 - 3xy^2, the monkey saddle: gradient and Hessian vanish at the origin.
    public static func monkeySaddle(x: Double, y: Double) -> PlaneObjective {
        PlaneObjective(x: x, y: y) { x, y in try x * x * x - x * y.squared() * 3 }
    }

    /// x^3 - 3xy^2 at `p`.
    static func monkeyValue(_ p: (x: Double, y: Double)) -> Double { p.x * p.x * p.x - 3 * p.x * p.y * p.y }

    /// The (x, y) of parameters.
    public static func point(_ parameters: NamedTensors) -> (Double, Double) {
        let values = parameters["p"]?.doubles ?? [.nan, .nan]
        return (values[0], values[1])
    }
}

extension Experiments {
    /// The points an optimizer visits on `objective` in `steps` steps (the start included);
    /// stops early if a step fails or would leave the disc of radius `maximumRadius` (the
    /// point outside is not kept: a function unbounded below sends the path to infinity).
    public static func trajectory(
        _ objective: PlaneObjective, _ optimizer: some Optimizer, steps: Int, maximumRadius: Double = .infinity
    ) -> [(x: Double, y: Double)] {
        var optimizer = optimizer
        var p = objective.parameters
        var points = [PlaneObjective.point(p)]
        for _ in 0..<steps {
            guard (try? optimizer.step(&p, objective: objective)) != nil else { break }
            let point = PlaneObjective.point(p)
            guard (point.0 * point.0 + point.1 * point.1).squareRoot() <= maximumRadius else { break }
            points.append(point)
        }
        return points.map { (x: $0.0, y: $0.1) }
    }

    /// The paths of Newton, gradient descent, saddle-free Newton and damped Newton (mu 10)
    /// on x^2 - y^2 from (1, 0.001), of Newton, saddle-free Newton and gradient descent on
    /// the quartic from (0.5, 0.1), and of the same three on the monkey saddle from (0.5, 0.2).
    public static func planePaths() throws -> [String: [(x: Double, y: Double)]] {
        let saddle = PlaneObjective.saddle(x: 1, y: 1e-3)
        let quartic = PlaneObjective.quartic(x: 0.5, y: 0.1)
        let monkey = PlaneObjective.monkeySaddle(x: 0.5, y: 0.2)
        return [
            "saddle newton": trajectory(saddle, try Newton(), steps: 10),
            "saddle gd": trajectory(saddle, try SGD(learningRate: 0.1), steps: 30),
            "saddle sfn": trajectory(saddle, try SaddleFreeNewton(), steps: 4),
            "saddle damped": trajectory(saddle, try DampedNewton(damping: 10), steps: 30),
            "quartic newton": trajectory(quartic, try Newton(), steps: 12),
            "quartic sfn": trajectory(quartic, try SaddleFreeNewton(), steps: 20),
            "quartic gd": trajectory(quartic, try SGD(learningRate: 0.1), steps: 80),
            "monkey newton": trajectory(monkey, try Newton(), steps: 20),
            // The cubic falls without bound along its valleys: the paths stop once |p| would pass 1,000 and 2.
            "monkey sfn": trajectory(monkey, try SaddleFreeNewton(), steps: 6, maximumRadius: 1e3),
            "monkey gd": trajectory(monkey, try SGD(learningRate: 0.1), steps: 60, maximumRadius: 2),
        ]
    }

    static func saddlesReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let paths = try planePaths()
        func path(_ name: String) -> [(x: Double, y: Double)] { paths[name] ?? [] }
        let (newton, gd, sfn, damped) = (path("saddle newton"), path("saddle gd"), path("saddle sfn"), path("saddle damped"))
        let growth = zip(gd, gd.dropFirst()).map { $1.y / $0.y }
        func last(_ points: [(x: Double, y: Double)]) -> (x: Double, y: Double) { points.last ?? (.nan, .nan) }
        func radius(_ p: (x: Double, y: Double)) -> Double { (p.x * p.x + p.y * p.y).squareRoot() }
        var checks = [
            Check("Newton lands on the saddle (0, 0) in one step and stays", Verdict.isExactlyZero(radius(newton[1])) && Verdict.isExactlyZero(radius(last(newton))),
                  "after one step (\(format(newton[1].x)), \(format(newton[1].y)))"),
            Check("gradient descent (learning rate 0.1) escapes along y by a factor 1 + 2 x 0.1 = 1.2 per step",
                  growth.allSatisfy { Verdict.agrees($0, 1.2) }, "factors from \(format(growth.min() ?? .nan)) to \(format(growth.max() ?? .nan))"),
            Check("saddle-free Newton escapes at once", Verdict.escaped(from: Swift.abs(sfn[0].y), to: Swift.abs(last(sfn).y)),
                  "|y| from \(format(sfn[0].y)) to \(format(Swift.abs(last(sfn).y))) in \(sfn.count - 1) steps"),
            Check("damped Newton (mu = 10) escapes slowly, by 1 + 2 / (mu - 2) = 1.25 per step",
                  Verdict.agrees(damped[1].y / damped[0].y, 1.25), "first factor \(format(damped[1].y / damped[0].y))"),
        ]
        let (qNewton, qSFN, qGD) = (path("quartic newton"), path("quartic sfn"), path("quartic gd"))
        checks.append(Check(
            "on x^2/2 + y^4/4 - y^2/2 from (0.5, 0.1), Newton goes to the saddle (0, 0); saddle-free Newton and gradient descent to a minimum (0, +-1)",
            Verdict.isExactlyZero(last(qNewton).y) && Verdict.agrees(Swift.abs(last(qSFN).y), 1) && Verdict.reached(Swift.abs(last(qGD).y), 1),
            "Newton ends at y = \(format(last(qNewton).y)), saddle-free Newton at y = \(format(last(qSFN).y)), gradient descent at y = \(format(last(qGD).y))"))
        // The monkey saddle: H = 0 at the origin, so the eigenvalue test cannot classify it.
        let monkeyCurvature = try Curvature(PlaneObjective.monkeySaddle(x: 0, y: 0))
        let origin = CriticalPointClassifier().classify(
            gradientNorm: try monkeyCurvature.gradient().squaredNorm.squareRoot(), eigenvalues: try monkeyCurvature.spectrum().values)
        let (mNewton, mSFN, mGD) = (path("monkey newton"), path("monkey sfn"), path("monkey gd"))
        let contraction = zip(mNewton, mNewton.dropFirst()).map { radius($1) / radius($0) }
        checks.append(Check(
            "at the monkey saddle x^3 - 3xy^2 the Hessian is zero: the eigenvalue test is inconclusive",
            origin.kind == .inconclusive, "classified \(origin.kind.rawValue): \(origin.zero) zero eigenvalues, gradient norm \(format(origin.gradientNorm))"))
        checks.append(Check(
            "Newton is drawn into the monkey saddle (its step is exactly half the way there: H p = 2 g for a cubic)",
            contraction.allSatisfy { Verdict.agrees($0, 0.5) }, "|p| shrinks by \(format(contraction.min() ?? .nan)) to \(format(contraction.max() ?? .nan)) per step, to \(format(radius(last(mNewton))))"))
        checks.append(Check(
            "saddle-free Newton and gradient descent leave the monkey saddle along a valley of descent (the distance ends at least \(format(Verdict.departureFactor)) times the start's, rising through the path's second half)",
            Verdict.isLeaving(mSFN.map(radius)) && Verdict.isLeaving(mGD.map(radius)) && PlaneObjective.monkeyValue(last(mGD)) < PlaneObjective.monkeyValue(mGD[0]),
            "|p| from \(format(radius(mSFN[0]))) to \(format(radius(last(mSFN)))) (saddle-free Newton, \(mSFN.count - 1) steps) and \(format(radius(last(mGD)))) (gradient descent, \(mGD.count - 1) steps)"))
        func absY(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] { points.enumerated().map { (x: Double($0.offset), y: Swift.abs($0.element.y)) } }
        let saddleFunction: (Double, Double) -> Double = { x, y in x * x - y * y }
        let quarticFunction: (Double, Double) -> Double = { x, y in
            let y2 = y * y
            return x * x / 2 + y2 * y2 / 4 - y2 / 2
        }
        let monkeyFunction: (Double, Double) -> Double = { x, y in
            let cube = x * x * x
            return cube - 3 * x * y * y
        }
        let saddleLevels = Figure.levelCurves(of: saddleFunction, x: -0.05...1.05, y: -0.3...0.3, levels: [-0.08, -0.02, 0.02, 0.08, 0.2, 0.4, 0.7, 1.0])
        let quarticLevels = Figure.levelCurves(
            of: quarticFunction, x: -0.7...0.7, y: -1.4...1.4, levels: [-0.2, -0.1, -0.02, 0.02, 0.1, 0.25, 0.5])
        let monkeyLevels = Figure.levelCurves(of: monkeyFunction, x: -1...1, y: -1...1, levels: [-0.5, -0.2, -0.05, 0.05, 0.2, 0.5])
        return ExperimentResult(
            id: "saddles", title: "1. Gradient descent flees saddles; Newton is drawn to them",
            claim: "Newton's method jumps to the critical point of its local quadratic model whatever its kind, so it is attracted to saddle "
                + "points; gradient descent is repelled along negative curvature, and the saddle-free Newton step -|H|^-1 g escapes fast "
                + "(Dauphin et al. 2014, Identifying and attacking the saddle point problem; Pascanu et al. 2014). Where the Hessian "
                + "vanishes (the monkey saddle) second-order tests cannot classify the point.",
            method: "Float64 paths from fixed starts: x^2 - y^2 from (1, 0.001) with Newton, gradient descent (learning rate 0.1), "
                + "saddle-free Newton (its line search) and damped Newton (mu 10); x^2/2 + y^4/4 - y^2/2 from (0.5, 0.1); "
                + "x^3 - 3xy^2 from (0.5, 0.2). Deterministic: no seeds are involved.",
            departures: "Toy functions in two variables, as in the talk's slides; the network-scale comparison is experiment 2.",
            figures: [
                Figure(
                    title: "x^2 - y^2 from (1, 0.001): distance from the saddle along y", xLabel: "step", yLabel: "|y|", logY: true,
                    series: [Figure.Series("Newton (exactly 0 after one step)", absY(newton)), Figure.Series("gradient descent", absY(gd)),
                             Figure.Series("saddle-free Newton", absY(sfn)), Figure.Series("damped Newton, mu 10", absY(damped))]),
                Figure(
                    title: "x^2 - y^2 from (1, 0.001): the paths over the level curves", xLabel: "x", yLabel: "y", xRange: -0.05...1.05, yRange: -0.3...0.3,
                    series: saddleLevels + [
                        Figure.Series("Newton", newton), Figure.Series("gradient descent", gd), Figure.Series("saddle-free Newton", sfn),
                        Figure.Series("damped Newton, mu 10", damped), Figure.Series("saddle (0, 0)", [(x: 0, y: 0)], connected: false),
                    ]),
                Figure(
                    title: "x^2/2 + y^4/4 - y^2/2 from (0.5, 0.1)", xLabel: "x", yLabel: "y", xRange: -0.7...0.7, yRange: -1.4...1.4,
                    series: quarticLevels + [
                        Figure.Series("Newton", qNewton), Figure.Series("saddle-free Newton", qSFN), Figure.Series("gradient descent", qGD),
                        Figure.Series("saddle (0, 0)", [(x: 0, y: 0)], connected: false),
                        Figure.Series("minima (0, +-1)", [(x: 0, y: 1), (x: 0, y: -1)], connected: false),
                    ]),
                Figure(
                    title: "Monkey saddle x^3 - 3xy^2 from (0.5, 0.2)", xLabel: "x", yLabel: "y", xRange: -1...1, yRange: -1...1,
                    series: monkeyLevels + [
                        Figure.Series("Newton", mNewton), Figure.Series("saddle-free Newton", mSFN), Figure.Series("gradient descent", mGD),
                        Figure.Series("degenerate saddle (0, 0)", [(x: 0, y: 0)], connected: false),
                    ]),
            ],
            checks: checks)
    }
}
