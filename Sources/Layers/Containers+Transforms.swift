import SaddleCore

/// Transforms walk and rebuild models through these: a `Sequential` names its children by
/// index or by the names it was given, a `Residual` its branch "branch" and shortcut "shortcut".
extension Sequential: LayerContainer {
    /// The layers under their path components (`0`, `1`, ... or their names).
    public var children: [(name: String, layer: any Layer)] { layers.enumerated().map { (name(at: $0.offset), $0.element) } }
    /// True: layers can be inserted and removed.
    public var isSequence: Bool { true }

    /// A copy with these layers; named children keep their names (the count must then stay).
    /// - Throws: `ModelError.invalidConfiguration` when named children change in number.
    public func replacingChildren(_ layers: [any Layer]) throws -> Sequential {
        guard let names else { return Sequential(layers) }
        guard layers.count == names.count else {
            throw ModelError.invalidConfiguration(
                layer: "sequential", reason: "named children are replaced one for one; insert with insertingChildren")
        }
        return try Sequential(named: Array(zip(names, layers)))
    }

    /// A copy with `new` inserted at `index`. Numbered children are renumbered; named ones
    /// keep their names, and the inserted layers are named after the layer before them
    /// (`hidden_1`, `hidden_2`; `input_1` at the front), so no other path changes.
    public func insertingChildren(_ new: [any Layer], at index: Int) throws -> (container: Sequential, names: [String]) {
        var all = layers
        all.insert(contentsOf: new, at: index)
        guard let names else {
            return (Sequential(all), (index..<(index + new.count)).map(String.init))
        }
        let base = index > 0 ? names[index - 1] : "input"
        var taken = Set(names)
        var added: [String] = []
        var suffix = 1
        while added.count < new.count {
            let candidate = "\(base)_\(suffix)"
            suffix += 1
            if taken.insert(candidate).inserted { added.append(candidate) }
        }
        var allNames = names
        allNames.insert(contentsOf: added, at: index)
        return (try Sequential(named: Array(zip(allNames, all))), added)
    }
}

extension Residual: LayerContainer {
    /// The branch, named `branch`, then the shortcut, named `shortcut`, when there is one.
    public var children: [(name: String, layer: any Layer)] {
        [("branch", branch)] + (shortcut.map { [("shortcut", $0)] } ?? [])
    }
    /// False: the branch and shortcut can only be replaced.
    public var isSequence: Bool { false }

    /// A block with the branch (and shortcut) replaced, keeping the activation.
    /// - Throws: `ModelError.invalidConfiguration` unless one layer per child is given.
    public func replacingChildren(_ layers: [any Layer]) throws -> Residual {
        let expected = shortcut == nil ? 1 : 2
        guard layers.count == expected else {
            throw ModelError.invalidConfiguration(
                layer: "residual", reason: "this residual block has \(expected) children (branch\(expected == 2 ? " and shortcut" : "")), got \(layers.count)")
        }
        return Residual(branch: layers[0], shortcut: expected == 2 ? layers[1] : nil, activation: activation)
    }
}
