// `saddle list`: every registered component with its parameters.
import ArgumentParser
import Foundation
import Saddle

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every registered component with its parameters.")

    @Option(help: "Only this kind (layer, activation, loss, optimizer, schedule, transform, dataset).")
    var kind: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("list") {
            let registry = try registryOptions.registry()
            var kinds = ComponentKind.allCases
            if let kind {
                guard let chosen = ComponentKind(rawValue: kind) else {
                    throw ValidationError("unknown kind \"\(kind)\"; use one of \(ComponentKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kinds = [chosen]
            }
            let entries = kinds.flatMap { registry.entries($0) }
            if json {
                let items: [JSONValue] = entries.map { entry in
                    .object([
                        ("kind", .string(entry.kind.rawValue)), ("name", .string(entry.name)), ("summary", .string(entry.summary)),
                        ("origin", .string(entry.origin.description)),
                        ("parameters", .array(entry.parameters.map { spec in
                            .object([("name", .string(spec.name)), ("type", .string(spec.typeDescription)),
                                     ("default", spec.defaultValue ?? .null), ("required", .bool(spec.isRequired)), ("summary", .string(spec.summary))])
                        })),
                    ])
                }
                print(JSONValue.array(items).pretty)
                return
            }
            for kind in kinds {
                let group = registry.entries(kind)
                guard !group.isEmpty else { continue }
                print("\(kind == .loss ? "losses" : kind.rawValue + "s"):")
                for entry in group {
                    print("  \(entry.name)  \(entry.summary)\(entry.origin == .builtin ? "" : "  [\(entry.origin)]")")
                    for spec in entry.parameters {
                        let value = spec.defaultValue.map { "default \($0)" } ?? "required"
                        print("      \(spec.name): \(spec.typeDescription), \(value). \(spec.summary)")
                    }
                }
            }
        }
    }
}
