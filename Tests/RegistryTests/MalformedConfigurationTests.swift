import Foundation
import Saddle
import SaddleTestSupport
import Testing

let baseConfiguration = """
    {"seed": 1, "data": {"name": "digits"}, "model": [{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}], "optimizer": {"name": "sgd", "learning_rate": 0.1}, "train": {"epochs": 1, "batch_size": 32}}
    """

/// A broken run file and where its error must point.
struct BrokenConfiguration: Sendable, CustomTestStringConvertible {
    let label: String
    let bytes: [UInt8]
    /// The exact JSON path, or for syntax errors the start of the "line L, column C" location.
    let path: String
    /// Text the message must contain.
    let mentions: String

    init(_ label: String, _ text: String, path: String, mentions: String = "") {
        self.label = label
        bytes = Array(text.utf8)
        self.path = path
        self.mentions = mentions
    }

    init(_ label: String, bytes: [UInt8], path: String, mentions: String) {
        self.label = label
        self.bytes = bytes
        self.path = path
        self.mentions = mentions
    }

    /// The base configuration with `old` replaced by `new` (which must occur).
    static func variant(_ label: String, _ old: String, _ new: String, path: String, mentions: String = "") -> BrokenConfiguration {
        precondition(baseConfiguration.contains(old), "\(label): \(old) not in the base")  // trap-ok (test table)
        return BrokenConfiguration(label, baseConfiguration.replacingOccurrences(of: old, with: new), path: path, mentions: mentions)
    }

    var testDescription: String { label }
}

let dense16 = #"{"layer": "dense", "units": 16}"#
let optimizer = #"{"name": "sgd", "learning_rate": 0.1}"#
let train = #"{"epochs": 1, "batch_size": 32}"#

let brokenConfigurations: [BrokenConfiguration] = [
    BrokenConfiguration("empty file", "", path: "line 1, column 1", mentions: "empty"),
    BrokenConfiguration("only whitespace", "  \n ", path: "line 2, column 2", mentions: "empty"),
    BrokenConfiguration("truncated", String(baseConfiguration.prefix(60)), path: "line 1", mentions: "invalid JSON"),
    BrokenConfiguration("trailing comma", #"{"seed": 1,}"#, path: "line 1, column 12", mentions: "quoted key"),
    BrokenConfiguration("duplicate key", #"{"seed": 1, "seed": 2}"#, path: "line 1, column 13", mentions: "duplicate key"),
    BrokenConfiguration("NaN literal", #"{"seed": NaN}"#, path: "line 1, column 10", mentions: "unexpected character"),
    BrokenConfiguration("number beyond Double", #"{"seed": 1e400}"#, path: "line 1, column 10", mentions: "out of range"),
    BrokenConfiguration("deep nesting", String(repeating: "[", count: 100_000), path: "line 1, column 257", mentions: "nesting deeper"),
    BrokenConfiguration("not UTF-8", bytes: Array(#"{"name": ""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8), path: "line 1, column 11", mentions: "UTF-8"),
    BrokenConfiguration("top level is an array", "[1, 2]", path: "(top level)", mentions: "JSON object"),
    .variant("unknown top-level key", #""seed": 1"#, #""seed": 1, "modle": 3"#, path: "modle", mentions: "did you mean \"model\""),
    .variant("seed negative", #""seed": 1"#, #""seed": -1"#, path: "seed", mentions: "out of range"),
    .variant("seed fractional", #""seed": 1"#, #""seed": 1.5"#, path: "seed", mentions: "expected integer"),
    .variant("dtype unknown", #""seed": 1"#, #""seed": 1, "dtype": "float16""#, path: "dtype", mentions: "float32"),
    .variant("format version from the future", #""seed": 1"#, #""seed": 1, "format_version": 2"#, path: "format_version", mentions: "not supported"),
    .variant("name with spaces", #""seed": 1"#, #""seed": 1, "name": "my run""#, path: "name"),
    .variant("data missing", #""data": {"name": "digits"}, "#, "", path: "data", mentions: "missing required key"),
    .variant("data is a number", #"{"name": "digits"}"#, "5", path: "data", mentions: "got an integer"),
    .variant("data name misspelled", #""name": "digits""#, #""name": "digit""#, path: "data.name", mentions: "did you mean \"digits\""),
    .variant("data unknown key", #"{"name": "digits"}"#, #"{"name": "digits", "valdation": 0.1}"#, path: "data.valdation", mentions: "did you mean \"validation\""),
    .variant("data validation too large", #"{"name": "digits"}"#, #"{"name": "digits", "validation": 1.5}"#, path: "data.validation", mentions: "out of range"),
    .variant("data validation as text", #"{"name": "digits"}"#, #"{"name": "digits", "validation": "0.2"}"#, path: "data.validation", mentions: "got a string"),
    .variant("data standardize unknown", #"{"name": "digits"}"#, #"{"name": "digits", "standardize": "zscore"}"#, path: "data.standardize", mentions: "per_feature"),
    .variant("csv without a path", #"{"name": "digits"}"#, #"{"name": "csv"}"#, path: "data.path", mentions: "missing required key"),
    .variant("csv file missing", #"{"name": "digits"}"#, #"{"name": "csv", "path": "/nonexistent/data.csv"}"#, path: "data", mentions: "/nonexistent/data.csv"),
    .variant("model missing", #""model": [{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}], "#, "", path: "model", mentions: "missing required key"),
    .variant("model is an object", #"[{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}]"#, dense16, path: "model", mentions: "list of layers"),
    .variant("model empty", #"[{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}]"#, "[]", path: "model", mentions: "no layers"),
    .variant("layer without a name", dense16, #"{"units": 16}"#, path: "model[0].layer", mentions: "missing required key"),
    .variant("layer name misspelled", dense16, #"{"layer": "dens", "units": 16}"#, path: "model[0].layer", mentions: "did you mean \"dense\""),
    .variant("layer name not a string", dense16, #"{"layer": 7, "units": 16}"#, path: "model[0].layer", mentions: "got an integer"),
    .variant("activation misspelled", #"{"layer": "relu"}"#, #"{"layer": "rleu"}"#, path: "model[1].layer", mentions: "did you mean \"relu\""),
    .variant("units missing", dense16, #"{"layer": "dense"}"#, path: "model[0].units", mentions: "missing required key"),
    .variant("units zero", dense16, #"{"layer": "dense", "units": 0}"#, path: "model[0].units", mentions: "out of range"),
    .variant("units negative", dense16, #"{"layer": "dense", "units": -5}"#, path: "model[0].units", mentions: "out of range"),
    .variant("units fractional", dense16, #"{"layer": "dense", "units": 2.5}"#, path: "model[0].units", mentions: "expected integer"),
    .variant("units as text", dense16, #"{"layer": "dense", "units": "16"}"#, path: "model[0].units", mentions: "got a string"),
    .variant("units huge", dense16, #"{"layer": "dense", "units": 1e30}"#, path: "model[0].units", mentions: "out of range"),
    .variant("unknown layer key", dense16, #"{"layer": "dense", "unit": 16}"#, path: "model[0].unit", mentions: "did you mean \"units\""),
    .variant("use_bias not a boolean", dense16, #"{"layer": "dense", "units": 16, "use_bias": "yes"}"#, path: "model[0].use_bias", mentions: "boolean"),
    .variant("initializer unknown", dense16, #"{"layer": "dense", "units": 16, "initializer": "xavier"}"#, path: "model[0].initializer", mentions: "unknown initializer"),
    .variant("initializer missing its argument", dense16, #"{"layer": "dense", "units": 16, "initializer": {"name": "normal"}}"#, path: "model[0].initializer.standard_deviation", mentions: "missing required key"),
    .variant("maxout pieces zero", dense16, #"{"layer": "maxout", "units": 16, "pieces": 0}"#, path: "model[0].pieces", mentions: "out of range"),
    .variant("dropout rate one", #"{"layer": "relu"}"#, #"{"layer": "dropout", "rate": 1}"#, path: "model[1].rate", mentions: "out of range"),
    .variant("batchnorm momentum negative", #"{"layer": "relu"}"#, #"{"layer": "batchnorm", "momentum": -0.1}"#, path: "model[1].momentum", mentions: "out of range"),
    .variant("lstm on flat examples", dense16, #"{"layer": "lstm", "hidden_size": 8}"#, path: "model[0]", mentions: "[time, features]"),
    .variant("dense on row sequences", #"{"name": "digits"}"#, #"{"name": "digits", "format": "rows"}"#, path: "model[0]", mentions: "[features]"),
    .variant("residual branch changes shape", #"{"layer": "relu"}"#, #"{"layer": "residual", "layers": [{"layer": "dense", "units": 5}]}"#, path: "model[1].layers", mentions: "keep the shape"),
    .variant("bad layer inside a residual", #"{"layer": "relu"}"#, #"{"layer": "residual", "layers": [{"layer": "dense", "units": 0}]}"#, path: "model[1].layers[0].units", mentions: "out of range"),
    .variant("unknown layer inside a sequential", #"{"layer": "relu"}"#, #"{"layer": "sequential", "layers": [{"layer": "relu"}, {"layer": "gelu"}]}"#, path: "model[1].layers[1].layer", mentions: "unknown layer"),
    .variant("sizes too large to allocate", #"{"layer": "relu"}"#, #"{"layer": "maxout", "units": 100000, "pieces": 4096}"#, path: "model[1].units", mentions: "limit"),
    .variant("optimizer missing", #""optimizer": {"name": "sgd", "learning_rate": 0.1}, "#, "", path: "optimizer", mentions: "missing required key"),
    .variant("optimizer misspelled", #""name": "sgd""#, #""name": "sdg""#, path: "optimizer.name", mentions: "did you mean \"sgd\""),
    .variant("learning rate negative", optimizer, #"{"name": "sgd", "learning_rate": -0.1}"#, path: "optimizer.learning_rate", mentions: "out of range"),
    .variant("learning rate missing", optimizer, #"{"name": "sgd"}"#, path: "optimizer.learning_rate", mentions: "missing required key"),
    .variant("momentum above one", optimizer, #"{"name": "sgd", "learning_rate": 0.1, "momentum": 2}"#, path: "optimizer.momentum", mentions: "out of range"),
    .variant("nesterov without momentum", optimizer, #"{"name": "sgd", "learning_rate": 0.1, "nesterov": true}"#, path: "optimizer", mentions: "nesterov"),
    .variant("clipping norm zero", optimizer, #"{"name": "adam", "max_gradient_norm": 0}"#, path: "optimizer.max_gradient_norm", mentions: "out of range"),
    .variant("loss unknown", #""seed": 1"#, #""seed": 1, "loss": "cross_entropy""#, path: "loss", mentions: "did you mean \"softmax_cross_entropy\""),
    .variant("schedule epochs negative", #""seed": 1"#, #""seed": 1, "schedule": {"name": "cosine", "epochs": -1}"#, path: "schedule.epochs", mentions: "out of range"),
    .variant("warm-up without steps", #""seed": 1"#, #""seed": 1, "schedule": {"name": "warmup"}"#, path: "schedule.steps", mentions: "missing required key"),
    .variant("warm-up into an unknown schedule", #""seed": 1"#, #""seed": 1, "schedule": {"name": "warmup", "steps": 5, "then": "cosin"}"#, path: "schedule.then", mentions: "did you mean \"cosine\""),
    .variant("train missing", #", "train": {"epochs": 1, "batch_size": 32}"#, "", path: "train", mentions: "missing required key"),
    .variant("train is a list", train, "[1, 32]", path: "train", mentions: "expected an object"),
    .variant("epochs zero", train, #"{"epochs": 0, "batch_size": 32}"#, path: "train.epochs", mentions: "out of range"),
    .variant("batch size as text", train, #"{"epochs": 1, "batch_size": "32"}"#, path: "train.batch_size", mentions: "got a string"),
    .variant("unknown train key", train, #"{"epoch": 1, "batch_size": 32}"#, path: "train.epoch", mentions: "did you mean \"epochs\""),
    .variant("progress unknown", train, #"{"epochs": 1, "batch_size": 32, "progress": "fancy"}"#, path: "train.progress", mentions: "automatic"),
    .variant("plugins not a list", #""seed": 1"#, #""seed": 1, "plugins": "libswish.so""#, path: "plugins", mentions: "list of plugins"),
    .variant("plugin without a path", #""seed": 1"#, #""seed": 1, "plugins": [{"sha256": null}]"#, path: "plugins[0].path", mentions: "missing required key"),
    .variant("plugin digest malformed", #""seed": 1"#, #""seed": 1, "plugins": [{"path": "x.so", "sha256": "abc"}]"#, path: "plugins[0].sha256", mentions: "64 hexadecimal"),
    .variant("transform without an epoch", #""seed": 1"#, #""seed": 1, "transforms": [{"name": "net2wider"}]"#, path: "transforms[0].at_epoch", mentions: "missing required key"),
    BrokenConfiguration("conv kernel as three numbers", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 4, "kernel": [3, 3, 3]}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[0].kernel", mentions: "[height, width]"),
    BrokenConfiguration("conv kernel larger than the image", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 4, "kernel": 9}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[0]", mentions: "smaller than the kernel"),
    BrokenConfiguration("conv groups not dividing the channels", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 4, "kernel": 3, "groups": 3}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[0].groups", mentions: "must divide"),
    BrokenConfiguration("conv same padding with a stride", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 4, "kernel": 3, "stride": 2, "padding": "same"}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[0].padding", mentions: "stride 1"),
    BrokenConfiguration("conv padding as a word other than same", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 4, "kernel": 3, "padding": "valid"}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[0].padding", mentions: "same"),
    BrokenConfiguration("conv kernel extent fractional", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 4, "kernel": [3, 2.5]}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[0].kernel[1]", mentions: "expected integer"),
    BrokenConfiguration("conv on vectors", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "flatten"}, {"layer": "conv2d", "filters": 4, "kernel": 3}, {"layer": "dense", "units": 10}"#), path: "model[1]", mentions: "[channels, height, width]"),
    BrokenConfiguration("pooling padding above half the kernel", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "max_pool2d", "kernel": 2, "padding": 2}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[0]", mentions: "half the kernel"),
    BrokenConfiguration("pooling window larger than the image", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "avg_pool2d", "kernel": 16}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[0]", mentions: "smaller than the kernel"),
    BrokenConfiguration("channel maxout pieces not dividing the channels", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 5, "kernel": 3}, {"layer": "channel_maxout", "pieces": 2}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[1].pieces", mentions: "multiple of pieces"),
    BrokenConfiguration("residual shortcut of the wrong shape", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 4, "kernel": 3, "padding": 1}, {"layer": "residual", "layers": [{"layer": "conv2d", "filters": 8, "kernel": 3, "stride": 2, "padding": 1}], "shortcut": [{"layer": "conv2d", "filters": 8, "kernel": 1}]}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[1].shortcut", mentions: "must agree"),
    BrokenConfiguration("residual branch changing the shape without a shortcut", baseConfiguration.replacingOccurrences(of: #""data": {"name": "digits"}"#, with: #""data": {"name": "digits", "format": "images"}"#).replacingOccurrences(of: #"{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}"#, with: #"{"layer": "conv2d", "filters": 4, "kernel": 3, "padding": 1}, {"layer": "residual", "layers": [{"layer": "conv2d", "filters": 8, "kernel": 3, "padding": 1}]}, {"layer": "flatten"}, {"layer": "dense", "units": 10}"#), path: "model[1].layers", mentions: "shortcut"),
    .variant("transform epoch beyond the run", #""seed": 1"#, #""seed": 1, "transforms": [{"at_epoch": 5, "name": "net2wider"}]"#, path: "transforms[0].at_epoch", mentions: "out of range"),
]

@Suite("Malformed configurations")
struct MalformedConfigurationTests {
    @Test func thereAreAtLeastFortyDistinctCases() {
        #expect(brokenConfigurations.count >= 40)
        #expect(Set(brokenConfigurations.map(\.label)).count == brokenConfigurations.count)
    }

    @Test func theBaseConfigurationIsValid() throws {
        let configuration = try RunConfiguration.decode(Array(baseConfiguration.utf8), registry: .builtin)
        #expect(try configuration.buildModel().parameterCount == 64 * 16 + 16 + 16 * 10 + 10)
    }

    @Test("each error names the right path", arguments: brokenConfigurations)
    func errorNamesThePath(_ broken: BrokenConfiguration) throws {
        do {
            let configuration = try RunConfiguration.decode(broken.bytes, file: "broken.json", registry: .builtin)
            _ = try configuration.buildModel()
            Issue.record("\(broken.label): accepted")
        } catch let error as ConfigurationError {
            #expect(error.file == "broken.json", "\(broken.label)")
            #expect(error.path.hasPrefix(broken.path), "\(broken.label): path \(error.path), expected \(broken.path): \(error)")
            #expect(broken.mentions.isEmpty || error.message.contains(broken.mentions), "\(broken.label): \(error)")
            #expect("\(error)".contains("broken.json: \(error.path)"))
        }
    }

    @Test func hugeDocumentsAreRefusedWithoutParsing() {
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: JSONParser.maximumSize + 1)
        #expect(throws: ConfigurationError.self) { try RunConfiguration.decode(huge, registry: .builtin) }
    }

    @Test func everyTruncationOfAValidFileFailsCleanly() throws {
        let text = Array(try String(contentsOfFile: Executables.examples.appendingPathComponent("digits_batchnorm.json").path, encoding: .utf8).utf8)
        for length in stride(from: 0, to: text.count - 2, by: 3) {
            #expect(throws: ConfigurationError.self) { try RunConfiguration.decode(text.prefix(length), registry: .builtin) }
        }
    }
}
