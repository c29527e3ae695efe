import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// A sample configuration and input shape for every registered layer and activation.
let layerSamples: [String: (JSONValue, [Int])] = [
    "dense": (JSONValue(parsing: #"{"layer": "dense", "units": 5, "use_bias": false, "initializer": {"name": "normal", "standard_deviation": 0.3}}"#), [4]),
    "factored_linear": (JSONValue(parsing: #"{"layer": "factored_linear", "units": 3, "rank": 2, "depth": 3, "use_bias": true, "initializer": "glorot_uniform"}"#), [4]),
    "maxout": (JSONValue(parsing: #"{"layer": "maxout", "units": 3, "pieces": 2, "initializer": {"name": "orthogonal", "gain": 1.5}}"#), [4]),
    "lstm": (JSONValue(parsing: #"{"layer": "lstm", "hidden_size": 3, "returns_sequence": true}"#), [5, 4]),
    "batchnorm": (JSONValue(parsing: #"{"layer": "batchnorm", "momentum": 0.2, "epsilon": 0.001}"#), [4]),
    "dropout": (JSONValue(parsing: #"{"layer": "dropout", "rate": 0.25}"#), [4]),
    "flatten": (JSONValue(parsing: #"{"layer": "flatten"}"#), [2, 3]),
    "identity": (JSONValue(parsing: #"{"layer": "identity"}"#), [4]),
    "residual": (JSONValue(parsing: #"{"layer": "residual", "layers": [{"layer": "dense", "units": 4, "use_bias": true, "initializer": "he_normal"}, {"layer": "tanh"}]}"#), [4]),
    "residual_projection": (JSONValue(parsing: #"{"layer": "residual", "layers": [{"layer": "dense", "units": 3, "use_bias": true, "initializer": "he_normal"}, {"layer": "tanh"}], "shortcut": [{"layer": "dense", "units": 3, "use_bias": false, "initializer": "he_uniform"}], "activation": {"layer": "relu"}}"#), [4]),
    "conv2d": (JSONValue(parsing: #"{"layer": "conv2d", "filters": 4, "kernel": [3, 2], "stride": 1, "padding": "same", "dilation": 2, "groups": 2, "use_bias": false, "initializer": "he_uniform"}"#), [2, 6, 5]),
    "conv2d_strided": (JSONValue(parsing: #"{"layer": "conv2d", "filters": 3, "kernel": 3, "stride": [2, 1], "padding": [1, 0], "dilation": 1, "groups": 1, "use_bias": true, "initializer": "fan_in_uniform"}"#), [2, 6, 5]),
    "max_pool2d": (JSONValue(parsing: #"{"layer": "max_pool2d", "kernel": 3, "stride": 2, "padding": 1}"#), [2, 5, 5]),
    "avg_pool2d": (JSONValue(parsing: #"{"layer": "avg_pool2d", "kernel": [2, 3], "stride": [2, 1], "padding": 1}"#), [1, 4, 6]),
    "global_avg_pool": (JSONValue(parsing: #"{"layer": "global_avg_pool"}"#), [3, 2, 2]),
    "channel_maxout": (JSONValue(parsing: #"{"layer": "channel_maxout", "pieces": 2}"#), [4, 3, 3]),
    "batchnorm_images": (JSONValue(parsing: #"{"layer": "batchnorm", "momentum": 0.3, "epsilon": 0.0001}"#), [3, 4, 4]),
    "sequential": (JSONValue(parsing: #"{"layer": "sequential", "layers": [{"layer": "dense", "units": 2, "use_bias": false, "initializer": "he_uniform"}, {"layer": "sigmoid"}]}"#), [4]),
    "relu": (JSONValue(parsing: #"{"layer": "relu"}"#), [4]),
    "leaky_relu": (JSONValue(parsing: #"{"layer": "leaky_relu", "slope": 0.2}"#), [4]),
    "sigmoid": (JSONValue(parsing: #"{"layer": "sigmoid"}"#), [4]),
    "tanh": (JSONValue(parsing: #"{"layer": "tanh"}"#), [4]),
    "softmax": (JSONValue(parsing: #"{"layer": "softmax"}"#), [4]),
]

/// A sample configuration for every other registered component.
let componentSamples: [String: JSONValue] = [
    "softmax_cross_entropy": JSONValue(parsing: #"{"name": "softmax_cross_entropy"}"#),
    "mean_squared_error": JSONValue(parsing: #"{"name": "mean_squared_error"}"#),
    "sgd": JSONValue(parsing: #"{"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": true, "max_gradient_norm": 2.5}"#),
    "adam": JSONValue(parsing: #"{"name": "adam", "learning_rate": 0.002, "beta2": 0.99}"#),
    "adamw": JSONValue(parsing: #"{"name": "adamw", "weight_decay": 0.05}"#),
    "constant": JSONValue(parsing: #"{"name": "constant"}"#),
    "newton": JSONValue(parsing: #"{"name": "newton", "learning_rate": 0.5}"#),
    "damped_newton": JSONValue(parsing: #"{"name": "damped_newton", "damping": 2.5, "adaptive": true}"#),
    "saddle_free_newton": JSONValue(parsing: #"{"name": "saddle_free_newton", "krylov_dimension": 12}"#),
    "newton_cg": JSONValue(parsing: #"{"name": "newton_cg", "max_iterations": 20, "tolerance": 0.01}"#),
    "step": JSONValue(parsing: #"{"name": "step", "step_size": 3, "gamma": 0.5}"#),
    "cosine": JSONValue(parsing: #"{"name": "cosine", "epochs": 7, "minimum": 0.001}"#),
    "warmup": JSONValue(parsing: #"{"name": "warmup", "steps": 10, "then": {"name": "step", "step_size": 2}}"#),
    "digits": JSONValue(parsing: #"{"name": "digits", "validation": 0.25, "split_seed": 3, "standardize": "scalar", "format": "rows"}"#),
    "fashion_mnist": JSONValue(parsing: #"{"name": "fashion_mnist", "validation": 0.1, "format": "rows"}"#),
    "csv": JSONValue(parsing: #"{"name": "csv", "path": "data.csv", "label_column": 0, "header": true}"#),
    "net2wider": JSONValue(parsing: #"{"name": "net2wider", "layer": "0", "units": 12, "noise": 0.01}"#),
    "random_pad": JSONValue(parsing: #"{"name": "random_pad", "layer": "2", "units": 40}"#),
    "net2deeper": JSONValue(parsing: #"{"name": "net2deeper", "layer": "1", "batch_norm": true, "force": false}"#),
    "random_deeper": JSONValue(parsing: #"{"name": "random_deeper", "layer": "1"}"#),
    "insert_residual": JSONValue(parsing: #"{"name": "insert_residual", "layer": "3.branch.1"}"#),
    "insert_batchnorm": JSONValue(parsing: #"{"name": "insert_batchnorm", "layer": "0"}"#),
]

extension JSONValue {
    init(parsing text: String) {
        self = (try? JSONParser.parse(Array(text.utf8))) ?? .null
    }
}

@Suite("JSON round trips")
struct RoundTripTests {
    @Test func everyRegisteredComponentHasASample() {
        for entry in Registry.builtin.allEntries {
            let known = entry.kind == .layer || entry.kind == .activation ? layerSamples[entry.name] != nil : componentSamples[entry.name] != nil
            #expect(known, "no round-trip sample for \(entry.kind.rawValue) \(entry.name)")
        }
    }

    @Test("model to JSON to model: same outputs and same JSON", arguments: Array(layerSamples.keys).sorted())
    func layerRoundTrip(_ name: String) throws {
        let (sample, inputShape) = try #require(layerSamples[name])
        let original = try ModelSpec { LayerSpec.raw(sample) }.build(inputShape: inputShape, dtype: .float64, seed: 3)
        let json = try original.configuration
        guard case .array(let items) = json, items.count == 1 else {
            Issue.record("\(name): configuration \(json)")
            return
        }
        // Every parameter is written out; what the sample gave comes back unchanged.
        if case .object(let given) = sample {
            for (key, value) in given { #expect(items[0][key] == value, "\(name).\(key): \(String(describing: items[0][key])) vs \(value)") }
        }
        let rebuilt = try ModelSpec { LayerSpec.raw(items[0]) }.build(inputShape: inputShape, dtype: .float64, seed: 3)
        #expect(try rebuilt.configuration == json)
        var g = RandomGenerator(seed: 4)
        let x = Tensor.randomNormal([6] + inputShape, dtype: .float64, using: &g)
        #expect(try original(x).doubles == rebuilt(x).doubles)
        for (path, tensor) in original.tensors { #expect(rebuilt.tensors[path]?.doubles == tensor.doubles, "\(name): \(path)") }
    }

    @Test("component JSON round trips", arguments: Array(componentSamples.keys).sorted())
    func componentRoundTrip(_ name: String) throws {
        let sample = try #require(componentSamples[name])
        let registry = Registry.builtin
        let entry = try #require(registry.allEntries.first { $0.name == name })
        let (_, arguments) = try registry.arguments(for: sample, nameKey: "name", kinds: [entry.kind], at: JSONPath())
        let canonical = JSONValue.object([("name", .string(name))] + arguments.values)
        let (_, again) = try registry.arguments(for: canonical, nameKey: "name", kinds: [entry.kind], at: JSONPath())
        #expect(JSONValue.object([("name", .string(name))] + again.values) == canonical)
        if case .object(let given) = sample {
            for (key, value) in given where key != "name" { #expect(canonical[key] == value, "\(name).\(key)") }
        }
    }

    @Test("run files round trip", arguments: ["digits_mlp", "digits_maxout", "digits_batchnorm", "digits_lstm", "digits_net2net", "digits_tiny_tanh", "fashion_mlp_batchnorm", "fashion_lstm", "fashion_cnn", "fashion_resnet", "digits_cnn"])
    func runFileRoundTrip(_ example: String) throws {
        let url = Executables.examples.appendingPathComponent("\(example).json")
        let configuration = try RunConfiguration.read(url, registry: .builtin)
        let canonical = try configuration.json()
        let again = try RunConfiguration(canonical, registry: .builtin).json()
        #expect(again == canonical)
        #expect(try JSONParser.parse(Array(canonical.pretty.utf8)) == canonical)
        #expect(try JSONParser.parse(Array(canonical.description.utf8)) == canonical)
    }

    @Test func swiftAndJSONReachTheSameModel() throws {
        let spec = ModelSpec {
            dense(units: 32)
            batchnorm()
            relu()
            maxout(units: 16, pieces: 4)
            residual {
                dense(units: 16, initializer: .heNormal)
                tanh()
            }
            dropout(rate: 0.1)
            dense(units: 10)
        }
        let json = JSONValue(parsing: """
            [{"layer": "dense", "units": 32}, {"layer": "batchnorm"}, {"layer": "relu"},
             {"layer": "maxout", "units": 16, "pieces": 4},
             {"layer": "residual", "layers": [{"layer": "dense", "units": 16, "initializer": "he_normal"}, {"layer": "tanh"}]},
             {"layer": "dropout", "rate": 0.1}, {"layer": "dense", "units": 10}]
            """)
        let fromSwift = try spec.build(inputShape: [64], seed: 11)
        var context = LayerBuildContext(registry: .builtin, dtype: .float32, generator: RandomGenerator(seed: 11), inputShape: [64])
        let fromJSON = Sequential(try context.buildLayers(json, at: JSONPath().appending("model")))
        let x = Tensor.randomNormal([5, 64], using: &context.generator)
        #expect(try fromSwift(x).floats == fromJSON(x).floats)
        #expect(try fromSwift.configuration == fromJSON.configuration)
        #expect(try fromSwift.configuration == spec.configuration)
    }

    @Test func concreteLayersDescribeThemselves() throws {
        var g = RandomGenerator(seed: 1)
        let model = try Sequential {
            try Dense(inputSize: 3, units: 4, using: &g)
            ReLU()
            try LSTM(inputSize: 2, hiddenSize: 5, using: &g)
        }
        #expect(try model.configuration == JSONValue(parsing: """
            [{"layer": "dense", "units": 4, "use_bias": true, "initializer": "fan_in_uniform"}, {"layer": "relu"},
             {"layer": "lstm", "hidden_size": 5, "returns_sequence": false}]
            """))
    }
}

extension LayerSpec {
    /// A layer given by its JSON configuration object.
    static func raw(_ configuration: JSONValue) -> LayerSpec {
        guard case .object(let members) = configuration, case .string(let name)? = configuration["layer"] else { return LayerSpec("invalid") }
        return LayerSpec(name, members.filter { $0.0 != "layer" })
    }
}
