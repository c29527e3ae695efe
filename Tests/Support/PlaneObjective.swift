import Saddle

/// A function of two variables as an objective over the parameter "p" = [x, y] (Float64).
public struct PlaneObjective: Objective {
    public var parameters: NamedTensors
    let function: @Sendable (Tensor, Tensor) throws -> Tensor

    public init(x: Double, y: Double, _ function: @escaping @Sendable (Tensor, Tensor) throws -> Tensor) {
        parameters = ["p": Tensor([x, y])]
        self.function = function
    }

    public func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
        let parts = try parameters["p"]!.split(sizes: [1, 1], alongAxis: 0)
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
