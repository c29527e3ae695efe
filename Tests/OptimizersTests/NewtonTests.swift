import Saddle
import SaddleExperiments
import SaddleTestSupport
import Testing

@Suite("Newton, damped and saddle-free Newton on the talk's examples")
struct NewtonTests {
    @Test func newtonLandsOnTheSaddleOfXSquaredMinusYSquaredInOneStep() throws {
        let objective = PlaneObjective.saddle(x: 1, y: 1e-3)
        var p = objective.parameters
        var newton = try Newton()
        let report = try newton.step(&p, objective: objective)
        let (x, y) = PlaneObjective.point(p)
        #expect(Swift.abs(x) <= 1e-15 && Swift.abs(y) <= 1e-18)
        #expect(report.message?.contains("indefinite") == true)
        _ = try newton.step(&p, objective: objective)
        #expect(PlaneObjective.point(p) == (0, 0) || (Swift.abs(PlaneObjective.point(p).0) < 1e-15 && Swift.abs(PlaneObjective.point(p).1) < 1e-15))
    }

    @Test func gradientDescentEscapesByAFactorOfOnePointTwoPerStep() throws {
        let objective = PlaneObjective.saddle(x: 1, y: 1e-3)
        var p = objective.parameters
        var sgd = try SGD(learningRate: 0.1)
        var previous = 1e-3
        var xExpected = 1.0
        for step in 1...30 {
            xExpected *= 0.8
            _ = try sgd.step(&p, objective: objective)
            let (x, y) = PlaneObjective.point(p)
            #expect(Swift.abs(y / previous - 1.2) <= 1e-14 * 1.2, "step \(step)")
            #expect(Swift.abs(x - xExpected) <= 1e-14)
            previous = y
        }
    }

    @Test func saddleFreeNewtonMovesAwayFromTheSaddle() throws {
        let objective = PlaneObjective.saddle(x: 1, y: 1e-3)
        var p = objective.parameters
        var sfn = try SaddleFreeNewton()
        var lastY = 1e-3
        for _ in 0..<3 {
            _ = try sfn.step(&p, objective: objective)
            let (x, y) = PlaneObjective.point(p)
            #expect(Swift.abs(y) > 1.5 * Swift.abs(lastY))
            #expect(Swift.abs(x) < 1e-12)
            lastY = y
        }
        // Damped Newton with mu > 2 also escapes, more slowly: y grows by 1 + 2 / (mu - 2).
        var q = objective.parameters
        var damped = try DampedNewton(damping: 10)
        _ = try damped.step(&q, objective: objective)
        #expect(Swift.abs(PlaneObjective.point(q).1 / 1e-3 - 1.25) < 1e-12)
    }

    @Test func onTheQuarticNewtonFindsTheSaddleAndSaddleFreeNewtonTheMinimum() throws {
        let objective = PlaneObjective.quartic(x: 0.5, y: 0.1)
        var p = objective.parameters
        var newton = try Newton()
        for _ in 0..<12 { _ = try newton.step(&p, objective: objective) }
        let (nx, ny) = PlaneObjective.point(p)
        #expect(Swift.abs(nx) < 1e-12 && Swift.abs(ny) < 1e-12, "newton ended at \(nx), \(ny)")
        var q = objective.parameters
        var sfn = try SaddleFreeNewton()
        for _ in 0..<20 { _ = try sfn.step(&q, objective: objective) }
        let (sx, sy) = PlaneObjective.point(q)
        #expect(Swift.abs(sx) < 1e-10 && Swift.abs(Swift.abs(sy) - 1) < 1e-10, "saddle-free Newton ended at \(sx), \(sy)")
    }

    @Test func singularAndIndefiniteSystemsAreReportedNotCrashed() throws {
        // f(x, y) = x^2: the Hessian diag(2, 0) is singular.
        let flat = PlaneObjective(x: 1, y: 1) { x, y in try x.squared() + y * 0 }
        var p = flat.parameters
        var newton = try Newton()
        #expect(throws: OptimizerError.self) { try newton.step(&p, objective: flat) }
        #expect(PlaneObjective.point(p) == (1, 1))
        var damped = try DampedNewton(damping: 2)
        #expect(throws: OptimizerError.self) { try damped.step(&p, objective: PlaneObjective.saddle(x: 1, y: 1)) }
        var adaptive = try DampedNewton(damping: 0.1, adaptive: true)
        let objective = PlaneObjective.saddle(x: 1, y: 0.5)
        var q = objective.parameters
        let before = try objective.value(at: q)
        _ = try adaptive.step(&q, objective: objective)
        #expect(try objective.value(at: q) < before)
        #expect(throws: OptimizerError.self) { try Newton(learningRate: 0) }
    }

    @Test("with a pseudo-inverse cutoff Newton steps on singular Hessians, leaving the null direction alone")
    func pseudoInverseNewtonStepsOnSingularHessians() throws {
        // f(x, y) = x^2 + 0 y: H = diag(2, 0). The pseudo-inverse step solves x and keeps y.
        let flat = PlaneObjective(x: 1, y: 0.7) { x, y in try x.squared() + y * 0 }
        var p = flat.parameters
        var newton = try Newton(pseudoInverseCutoff: 1e-8)
        _ = try newton.step(&p, objective: flat)
        let (x, y) = PlaneObjective.point(p)
        #expect(Swift.abs(x) <= 1e-15 && y == 0.7, "(\(x), \(y))")
        // On x^2 - y^2 (indefinite, not singular) it is Newton's step: onto the saddle.
        let saddle = PlaneObjective.saddle(x: 1, y: 1e-3)
        var q = saddle.parameters
        _ = try newton.step(&q, objective: saddle)
        #expect(PlaneObjective.point(q) == (0, 0))
        // x^2 + 1e-10 y^2: the small eigenvalue is kept below the cutoff's share and dropped above it.
        let stiff = PlaneObjective(x: 1, y: 1) { x, y in try x.squared() + y.squared() * 1e-10 }
        var kept = stiff.parameters, dropped = stiff.parameters
        var fine = try Newton(pseudoInverseCutoff: 1e-12), coarse = try Newton(pseudoInverseCutoff: 1e-8)
        _ = try fine.step(&kept, objective: stiff)
        _ = try coarse.step(&dropped, objective: stiff)
        #expect(Swift.abs(PlaneObjective.point(kept).1) < 1e-6 && PlaneObjective.point(dropped).1 == 1)
        for bad in [-0.1, 1, .nan] { #expect(throws: OptimizerError.self) { try Newton(pseudoInverseCutoff: bad) } }
    }

    @Test func newtonCGSolvesConvexProblemsAndStopsOnNegativeCurvature() throws {
        let bowl = PlaneObjective(x: 3, y: -2) { x, y in try x.squared() * 2 + y.squared() * 0.5 }
        var p = bowl.parameters
        var cg = try NewtonCG(tolerance: 1e-12)
        let report = try cg.step(&p, objective: bowl)
        #expect(Swift.abs(PlaneObjective.point(p).0) < 1e-12 && Swift.abs(PlaneObjective.point(p).1) < 1e-12, "\(String(describing: report.message))")
        let saddle = PlaneObjective.saddle(x: 0.1, y: 0.5)
        var q = saddle.parameters
        let stopped = try cg.step(&q, objective: saddle)
        #expect(stopped.message?.contains("non-positive curvature") == true)
        #expect(try saddle.value(at: q) < 0.01 - 0.25)
    }
}
