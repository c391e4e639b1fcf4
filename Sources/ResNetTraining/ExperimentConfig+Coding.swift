import Foundation
import ResNetCore
import Yams

extension ExperimentConfig {
    /// The keys of YAML files, flags and `config.yaml` (kebab-case), in the order they are written.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case experiment, variant, dataset, model, width, channels, activation, blocks, levels, prolongation, h
        case integrators = "integrator", switchMode = "switch", switchEpochs = "switch-epochs", patience
        case minImprovement = "min-improvement", maxLevels = "max-levels"
        case optimizerStateOnSwitch = "optimizer-state-on-switch"
        case epochs, batchSize = "batch-size", lr, optimizer, momentum, weightDecay = "weight-decay", schedule
        case seed, subset, dataDir = "data-dir", localBN = "local-bn", preciseBN = "precise-bn"
        case checkpointEvery = "checkpoint-every", keepCheckpoints = "keep-checkpoints"
        case savedActivations = "saved-activations", head, inputLayer = "input-layer", initialization = "init"
        case inputScaling = "input-scaling", augment, preset, hRule = "h-rule"
        case trainPoints = "train-points", testPoints = "test-points", noise

        /// The Swift property name: the key of the JSON form (`config_json` in checkpoints and
        /// peer exports), which keeps the names earlier versions wrote there.
        var propertyName: String {
            switch self {
            case .integrators: return "integrators"
            case .switchMode: return "switchMode"
            case .localBN: return "localBN"
            case .preciseBN: return "preciseBN"
            case .initialization: return "initialization"
            default:
                let parts = rawValue.split(separator: "-")
                return parts[0] + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            }
        }

        /// A key given either way: kebab-case, or the property name of the JSON form.
        init?(anySpelling name: String) {
            guard let key = Self(rawValue: name) ?? Self.allCases.first(where: { $0.propertyName == name }) else { return nil }
            self = key
        }

        /// Lists, which a YAML file or a flag may also give as one value or as "2,3,5".
        var isList: Bool { [.channels, .blocks, .levels, .integrators, .switchEpochs].contains(self) }

        /// Keys of whole numbers (or lists of them), which also take integral numbers such as 7.0.
        var isInteger: Bool {
            [.width, .channels, .blocks, .levels, .switchEpochs, .patience, .maxLevels, .epochs, .batchSize, .seed,
             .subset, .preciseBN, .checkpointEvery, .keepCheckpoints, .trainPoints, .testPoints].contains(self)
        }

        /// The names a key of a fixed set of names accepts (nil for the other keys).
        var choices: String? {
            switch self {
            case .dataset: return Dataset.spelledChoices
            case .model: return ModelSpec.Kind.spelledChoices
            case .activation: return Activation.spelledChoices
            case .prolongation: return Prolongation.spelledChoices
            case .integrators: return Integrator.spelledChoices + " (rk2 = midpoint)"
            case .switchMode: return SwitchRule.spelledChoices
            case .optimizerStateOnSwitch: return OptimizerStateOnSwitch.spelledChoices
            case .optimizer: return OptimizerKind.spelledChoices
            case .schedule: return ScheduleKind.spelledChoices
            case .savedActivations: return HalfPrecision.Storage.spelledChoices
            case .head: return ModelSpec.Head.spelledChoices
            case .initialization: return ModelSpec.Initialization.spelledChoices
            case .inputScaling: return InputScaling.spelledChoices
            case .preset: return Preset.spelledChoices
            case .hRule: return StepRule.spelledChoices
            default: return nil
            }
        }
    }

    public static var settableKeys: [String] { CodingKeys.allCases.map(\.rawValue).sorted() }

    /// The config as YAML with kebab-case keys (what `--config` reads back).
    public func yaml() throws -> String { try YAMLEncoder().encode(self) }

    /// The config as `--print-config` writes it, for a person to edit: numbers in their
    /// shortest exact form (`lr: 0.005`, `h: 1`), lists inline, and only the keys this config's
    /// model, level switching and optimizer use. `--config` reads it back to the same config.
    public func printableYAML() throws -> String {
        let values = try encodedValues()
        let unused = unusedKeys
        return CodingKeys.allCases.compactMap { key in
            guard !unused.contains(key), let value = values[key] else { return nil }
            return "\(key.rawValue): \(Self.plainText(value))"
        }.joined(separator: "\n") + "\n"
    }

    /// The keys this config's model, switching rule and optimizer ignore.
    var unusedKeys: Set<CodingKeys> {
        var unused: Set<CodingKeys> = model == .cnn
            ? [.width, .trainPoints, .testPoints, .noise, .inputScaling]
            : [.channels, .head, .inputLayer, .augment, .dataDir]
        unused.formUnion(switchMode == .plateau ? [.switchEpochs] : [.patience, .minImprovement, .maxLevels])
        if optimizer == .adam { unused.insert(.momentum) }
        return unused
    }

    /// A value as YAML flow text: `0.005`, `[2, 2]`, `euler`, `''` (a string that would read as
    /// something else is quoted).
    static func plainText(_ node: Node) -> String {
        if let items = node.sequence { return "[" + items.map(plainText).joined(separator: ", ") + "]" }
        let text = node.scalar?.string ?? ""
        guard node.scalar?.style == .doubleQuoted || node.scalar?.style == .singleQuoted else { return text }
        let ambiguous = text.isEmpty || Double(text) != nil || ["true", "false", "null", "yes", "no", "~"].contains(text.lowercased())
            || text.contains(": ") || text.contains(" #") || "[]{},&*!|>'\"%@`#-?".contains(text.first!)
        return ambiguous ? "'" + text.replacingOccurrences(of: "'", with: "''") + "'" : text
    }

    /// The JSON form, keyed by property name (sorted keys: the same text on every rank).
    public static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .custom { path in
            guard path.count == 1, let key = CodingKeys(stringValue: path[0].stringValue) else { return path.last! }
            return AnyKey(key.propertyName)
        }
        return encoder
    }

    /// Reads a whole config from YAML (`config.yaml`) or from its JSON form, including those
    /// written by earlier versions.
    public static func decode(_ text: String, source: String) throws -> ExperimentConfig {
        var values: [CodingKeys: Node] = [:]
        for (key, value) in try parseOverrides(yaml: text, source: source, anySpelling: true) { values[key] = value }
        return try decode(values, source: source)
    }

    /// Applies command-line flags: each value is the flag's text, read as a YAML file's would be.
    public mutating func apply(flags: [(key: CodingKeys, text: String)], source: String) throws {
        try apply(flags.map { ($0.key, Node($0.text)) }, source: source)
    }

    /// Every present key's value as a node, numbers written to the last bit (JSON's shortest
    /// exact form; YAML's writer keeps 15 digits).
    func encodedValues() throws -> [CodingKeys: Node] {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: ".inf", negativeInfinity: "-.inf", nan: ".nan")
        let json = String(decoding: try encoder.encode(self), as: UTF8.self)
        var values: [CodingKeys: Node] = [:]
        for (key, value) in try Self.parseOverrides(yaml: json, source: "the config") { values[key] = value }
        return values
    }

    /// The keys on which two configs hold the same value.
    public static func keysWithEqualValues(_ a: ExperimentConfig, _ b: ExperimentConfig) throws -> Set<CodingKeys> {
        let x = try a.encodedValues(), y = try b.encodedValues()
        return Set(CodingKeys.allCases.filter { x[$0] == y[$0] })
    }

    /// Applies the keys of one source on top of this config: the config's values, with the
    /// given keys replacing theirs, are decoded as one mapping. A wrong type or an unknown
    /// name is an error naming the key and the source.
    public mutating func apply(_ overrides: [(key: CodingKeys, value: Node)], source: String) throws {
        var values = try encodedValues()
        for (key, value) in overrides { values[key] = value }
        var c = try Self.decode(values, source: source)
        // One block count applies to every group of the CNN, and counts that are the same in
        // every group follow a later change in the number of groups (in the order given).
        let blocksAt = overrides.lastIndex { $0.key == .blocks }, channelsAt = overrides.lastIndex { $0.key == .channels }
        if let b = blocksAt, c.model == .cnn, c.blocks.count == 1, channelsAt.map({ $0 < b }) ?? true {
            c.blocks = c.channels.map { _ in c.blocks[0] }
        }
        if let ch = channelsAt, blocksAt.map({ $0 < ch }) ?? true, c.blocks.count != c.channels.count,
           let b = c.blocks.first, c.blocks.allSatisfy({ $0 == b }) {
            c.blocks = c.channels.map { _ in b }
        }
        self = c
    }

    static func decode(_ values: [CodingKeys: Node], source: String) throws -> ExperimentConfig {
        var pairs: [(Node, Node)] = []
        for key in CodingKeys.allCases {
            if let value = values[key] { pairs.append((Node(key.rawValue), normalized(value, key: key))) }
        }
        let mapping = Node.Mapping(pairs)
        do {
            return try YAMLDecoder().decode(ExperimentConfig.self, from: Yams.serialize(node: .mapping(mapping)))
        } catch let error as DecodingError {
            throw configError(error, values: values, source: source)
        } catch {
            throw ConfigError.unreadableFile(path: source, reason: "\(error)")
        }
    }

    /// Lists given as one value or as "2,3,5" become lists. Each value is read by its key's type
    /// whatever its quoting ('9' is 9 for a key of numbers); integral numbers such as 7.0 count
    /// as whole numbers. (Integrator names decode as the core reads them: rk2 is midpoint.)
    static func normalized(_ node: Node, key: CodingKeys) -> Node {
        var node = node
        if key.isList, let scalar = node.scalar {
            let parts = scalar.string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            node = .sequence(Node.Sequence(parts.map { Node($0) }))
        }
        func plain(_ item: Node) -> Node {
            guard let text = item.scalar?.string else { return item }
            if key.isInteger, Int(text) == nil, let d = Double(text), d.rounded() == d, abs(d) < 1e15 {
                return Node(String(Int(d)))
            }
            return Node(text)
        }
        if let items = node.sequence { return .sequence(Node.Sequence(items.map(plain))) }
        return plain(node)
    }

    /// The decoding error as the key, the source and what the key takes.
    static func configError(_ error: DecodingError, values: [CodingKeys: Node], source: String) -> ConfigError {
        let context: DecodingError.Context
        var type: Any.Type = String.self
        switch error {
        case .typeMismatch(let t, let c), .valueNotFound(let t, let c): context = c; type = t
        case .dataCorrupted(let c): context = c
        case .keyNotFound(let key, let c):
            return .unreadableFile(path: source, reason: "it has no key '\(key.stringValue)'\(c.codingPath.isEmpty ? "" : " in \(c.codingPath.map(\.stringValue))")")
        @unknown default: return .unreadableFile(path: source, reason: "\(error)")
        }
        guard let key = context.codingPath.first.flatMap({ CodingKeys(stringValue: $0.stringValue) }) else {
            return .unreadableFile(path: source, reason: context.debugDescription)
        }
        if let choices = key.choices {
            let value = values[key]
            let given = value?.scalar?.string ?? value?.sequence.map { $0.compactMap(\.scalar?.string).joined(separator: ",") } ?? "?"
            return .invalid(key: key.rawValue, problem: "'\(given)' is not \(choices) (\(source))")
        }
        let expected: String
        switch type {
        case is Int.Type: expected = key.isList ? "a list of integers such as 2,3,5" : "an integer"
        case is Double.Type: expected = "a number"
        case is Bool.Type: expected = "true or false"
        default: expected = key.isList ? "a list" : "a string"
        }
        return .wrongType(key: key.rawValue, file: source, expected: expected)
    }

    /// Reads a YAML mapping of config keys. Unknown keys are errors naming the key.
    public static func readOverrides(yamlFile path: String) throws -> [(key: CodingKeys, value: Node)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError.unreadableFile(path: path, reason: "no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError.unreadableFile(path: path, reason: "not UTF-8 text")
        }
        return try parseOverrides(yaml: text, source: path)
    }

    /// The first anchor (`&name`) or alias (`*name`) outside quotes and comments, with its line
    /// number: where a node may start (line start, after `:`, `-`, `[`, `{`, `,` or `?`).
    static func anchorOrAlias(in text: String) -> (line: Int, token: String)? {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var quote: Character?
            var previous: Character = " "   // the last character that is not a space
            let chars = Array(line)
            for (i, c) in chars.enumerated() {
                if let q = quote {
                    if c == q { quote = nil }
                    continue
                }
                if c == "\"" || c == "'" { quote = c; continue }
                if c == "#", i == 0 || chars[i - 1] == " " || chars[i - 1] == "\t" { break }
                if (c == "&" || c == "*"), ": -[{,?".contains(previous), i + 1 < chars.count, !chars[i + 1].isWhitespace {
                    let name = chars[i...].prefix { !$0.isWhitespace && $0 != "," && $0 != "]" && $0 != "}" }
                    return (number + 1, String(name))
                }
                if !c.isWhitespace { previous = c }
            }
        }
        return nil
    }

    /// The keys of a YAML mapping; `anySpelling` also takes the property names of the JSON form.
    public static func parseOverrides(yaml text: String, source: String, anySpelling: Bool = false) throws -> [(key: CodingKeys, value: Node)] {
        // Anchors and aliases can make a few hundred bytes expand to gigabytes while composing
        // (an alias bomb); configs have no use for them, so they are refused before parsing.
        if let (line, token) = anchorOrAlias(in: text) {
            throw ConfigError.unreadableFile(path: source, reason: "line \(line) uses the YAML anchor or alias '\(token)'; config files may not use anchors (&name) or aliases (*name) — write the value out")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError.unreadableFile(path: source, reason: "not valid YAML: \(error)")
        }
        guard let node else {
            throw ConfigError.unreadableFile(path: source, reason: "it holds no config keys (empty, or only comments); write keys such as 'experiment: regression', or see resnet-dist train --print-config")
        }
        guard let mapping = node.mapping else {
            throw ConfigError.unreadableFile(path: source, reason: "expected a mapping of keys to values at the top level")
        }
        var seen: Set<String> = []
        return try mapping.map { k, v in
            if let key = k.scalar?.string, !seen.insert(key).inserted {
                throw ConfigError.unreadableFile(path: source, reason: "the key '\(key)' appears more than once; keep one")
            }
            guard let key = k.scalar?.string else {
                throw ConfigError.unreadableFile(path: source, reason: "a key is not a plain string")
            }
            guard let known = anySpelling ? CodingKeys(anySpelling: key) : CodingKeys(rawValue: key) else {
                throw ConfigError.unknownKey(key, file: source, known: settableKeys)
            }
            return (known, v)
        }
    }
}

/// A coding key of any name.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
