import Foundation
import Saddle
import SaddleTestSupport
import Testing

@Suite("Containers with named children")
struct NamedContainerTests {
    /// The fixture written by scripts/pytorch_named_golden.py with torch 2.13: the state dict of
    /// a module with submodules `lstm` (LSTM(3, 4, batch_first)) and `head` (Linear(4, 2)), an
    /// input [3, 5, 3] and the module's logits [3, 2], in float64.
    func fixture() throws -> (stateDict: NamedTensors, input: Tensor, logits: Tensor) {
        let file = try Checkpoint.read(from: Executables.fixtures.appendingPathComponent("lstm_head.safetensors"))
        var stateDict = file.tensors
        let input = try #require(stateDict["input"]), logits = try #require(stateDict["logits"])
        stateDict["input"] = nil
        stateDict["logits"] = nil
        return (stateDict, input, logits)
    }

    func expectLogits(_ model: any Layer, _ fixture: (stateDict: NamedTensors, input: Tensor, logits: Tensor)) throws {
        let loaded = try model.loading(PyTorchNames.importing(fixture.stateDict))
        #expect(loaded.tensors.paths.sorted() == ["head.bias", "head.weight", "lstm.bias_hh", "lstm.bias_ih", "lstm.weight_hh", "lstm.weight_ih"])
        let output = try GradientRecording.withoutRecording { try loaded(fixture.input) }.doubles
        let expected = fixture.logits.doubles
        let scale = expected.map(Swift.abs).max() ?? 1
        #expect(output.count == expected.count)
        #expect(TestSupport.maxAbsDifference(output, expected) <= 1e-12 * scale, "\(output) vs \(expected)")
    }

    @Test("a PyTorch state dict with named submodules loads by its names and gives PyTorch's logits (Swift)")
    func pyTorchNamesFromSwift() throws {
        var g = RandomGenerator(seed: 1)
        let model = try Sequential(named: [
            ("lstm", try LSTM(inputSize: 3, hiddenSize: 4, dtype: .float64, using: &g)),
            ("head", try Dense(inputSize: 4, units: 2, dtype: .float64, using: &g)),
        ])
        try expectLogits(model, try fixture())
    }

    @Test("the same from a run file, whose layers carry names; the configuration round-trips")
    func pyTorchNamesFromJSON() throws {
        let text = """
            {"seed": 1, "dtype": "float64", "data": {"name": "digits", "format": "rows"},
             "model": [{"name": "lstm", "layer": "lstm", "hidden_size": 4}, {"name": "head", "layer": "dense", "units": 2}],
             "optimizer": {"name": "sgd", "learning_rate": 0.1}, "train": {"epochs": 1, "batch_size": 8}}
            """
        let configuration = try RunConfiguration.decode(Array(text.utf8), registry: .builtin)
        let model = try configuration.buildModel(inputShape: [5, 3])
        try expectLogits(model, try fixture())
        // Written back, the names come first in each layer's object and rebuild the same paths.
        let written = try model.configuration
        #expect(written.description.contains(#""name": "lstm""#) && written.description.contains(#""name": "head""#))
        var context = LayerBuildContext(registry: .builtin, dtype: .float64, generator: RandomGenerator(seed: 1), inputShape: [5, 3])
        let rebuilt = try context.buildSequence(written, at: JSONPath().appending("model"))
        #expect(rebuilt.tensors.paths == model.tensors.paths)
    }

    @Test("names are all-or-none, unique and without dots, each refusal at its JSON path", arguments: [
        (#"[{"name": "a", "layer": "relu"}, {"layer": "relu"}]"#, "model[1].name"),
        (#"[{"layer": "relu"}, {"name": "b", "layer": "relu"}]"#, "model[1].name"),
        (#"[{"name": "a", "layer": "relu"}, {"name": "a", "layer": "relu"}]"#, "model[1].name"),
        (#"[{"name": "a.b", "layer": "relu"}]"#, "model[0].name"),
        (#"[{"name": 3, "layer": "relu"}]"#, "model[0].name"),
    ])
    func badNames(_ model: String, _ path: String) throws {
        let text = #"{"data": {"name": "digits"}, "model": \#(model), "optimizer": {"name": "sgd", "learning_rate": 0.1}, "train": {"epochs": 1, "batch_size": 8}}"#
        let configuration = try RunConfiguration.decode(Array(text.utf8), registry: .builtin)
        #expect(throws: ConfigurationError.self) { _ = try configuration.buildModel() }
        do {
            _ = try configuration.buildModel()
        } catch let error as ConfigurationError {
            #expect("\(error)".contains(path), "\(error)")
        }
        #expect(throws: ModelError.self) { _ = try Sequential(named: [("x", ReLU()), ("x", ReLU())]) }
    }

    @Test("transforms address named children by name: widening preserves the function, insertion names the new layer after its predecessor")
    func transformsOnNamedChildren() throws {
        var g = RandomGenerator(seed: 3)
        let model = try Sequential(named: [
            ("hidden", try Dense(inputSize: 6, units: 5, dtype: .float64, using: &g)), ("act", ReLU()),
            ("out", try Dense(inputSize: 5, units: 3, dtype: .float64, using: &g)),
        ])
        let probe = Tensor.randomNormal([16, 6], dtype: .float64, using: &g)
        let (wide, widened) = try Net2WiderNet(layer: "hidden", units: 9).apply(to: model, probe: probe, seed: 1)
        #expect(try #require(widened.maxDeviation) <= 1e-10)
        #expect(wide.tensors.paths == model.tensors.paths)
        #expect(wide.tensors["hidden.weight"]?.shape == [9, 6] && wide.tensors["out.weight"]?.shape == [3, 9])
        let (deep, deepened) = try Net2DeeperNet(layer: "hidden").apply(to: model, probe: probe, seed: 1)
        #expect(try #require(deepened.maxDeviation) <= 1e-10)
        #expect(deepened.pathMap.allSatisfy { $0.old == $0.new }, "\(deepened.pathMap)")
        // Net2Deeper inserts after the activation that follows the layer: the new layers are
        // named after it, and every old path is kept.
        let names = try #require((deep as? Sequential)?.names)
        #expect(names.prefix(2) == ["hidden", "act"] && names.last == "out" && names.dropFirst(2).dropLast().allSatisfy { $0.hasPrefix("act_") }, "\(names)")
        #expect(!deepened.added.isEmpty && deepened.added.allSatisfy { $0.hasPrefix("act_") }, "\(deepened.added)")
        #expect(Set(model.tensors.paths).isSubset(of: Set(deep.tensors.paths)))
        let (residual, inserted) = try ResidualInsertion(layer: "hidden").apply(to: model, probe: probe, seed: 1)
        #expect(try #require(inserted.maxDeviation) <= 1e-10)
        #expect(inserted.pathMap.allSatisfy { $0.old == $0.new } && inserted.added.allSatisfy { $0.hasPrefix("act_1.") }, "\(inserted.added)")
        #expect((residual as? Sequential)?.names == ["hidden", "act", "act_1", "out"])
    }
}
