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
        case inputScaling = "input-scaling", augment, preset, hRule = "h-rule", levelLRFactor = "level-lr-factor"
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
            case .levelLRFactor: return "levelLRFactor"
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

    }

    public static var settableKeys: [String] { CodingKeys.allCases.map(\.rawValue).sorted() }

    /// The whole config as YAML with kebab-case keys, every number in its shortest exact form
    /// (`config.yaml` in a run directory; `--config` reads it back to the same config, to the bit).
    public func yaml() throws -> String { try yamlText(omitting: []) }

    /// The config as `--print-config` writes it, for a person to edit: as `yaml()`, with only
    /// the keys this config's model, level switching and optimizer use.
    public func printableYAML() throws -> String { try yamlText(omitting: unusedKeys) }

    /// One line per key (lists inline), in the order of `CodingKeys`.
    func yamlText(omitting omitted: Set<CodingKeys>) throws -> String {
        let values = try encodedValues()
        return CodingKeys.allCases.compactMap { key in
            guard !omitted.contains(key), let value = values[key] else { return nil }
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
