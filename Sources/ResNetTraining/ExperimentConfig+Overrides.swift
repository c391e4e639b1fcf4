import Foundation
import Yams

/// A value for a config key, from YAML or from a command-line flag.
public enum ConfigValue: Equatable, Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case list([ConfigValue])
}

extension ExperimentConfig {
    typealias Setter = (inout ExperimentConfig, ConfigValue, String) throws -> Void

    /// Every settable key (kebab-case, as in flags and YAML files) and how it is applied.
    static let setters: [String: Setter] = [
        "experiment": { c, v, src in c.experiment = try v.asString("experiment", src) },
        "variant": { c, v, src in c.variant = try v.asString("variant", src) },
        "dataset": { c, v, src in c.dataset = try v.asString("dataset", src) },
        "model": { c, v, src in c.model = try v.asString("model", src) },
        "width": { c, v, src in c.width = try v.asInt("width", src) },
        "channels": { c, v, src in
            c.channels = try v.asIntList("channels", src)
            // Blocks that are the same in every group follow a change in the number of groups.
            if c.blocks.count != c.channels.count, let b = c.blocks.first, c.blocks.allSatisfy({ $0 == b }) {
                c.blocks = c.channels.map { _ in b }
            }
        },
        "activation": { c, v, src in c.activation = try v.asString("activation", src) },
        "blocks": { c, v, src in
            let b = try v.asIntList("blocks", src)
            // One number applies to every group.
            c.blocks = b.count == 1 && c.model == "cnn" ? c.channels.map { _ in b[0] } : b
        },
        "levels": { c, v, src in c.levels = try v.asIntList("levels", src) },
        "prolongation": { c, v, src in c.prolongation = try v.asString("prolongation", src) },
        "h": { c, v, src in c.h = try v.asDouble("h", src) },
        "integrator": { c, v, src in c.integrators = try v.asStringList("integrator", src) },
        "switch": { c, v, src in c.switchMode = try v.asString("switch", src) },
        "switch-epochs": { c, v, src in c.switchEpochs = try v.asIntList("switch-epochs", src) },
        "patience": { c, v, src in c.patience = try v.asInt("patience", src) },
        "min-improvement": { c, v, src in c.minImprovement = try v.asDouble("min-improvement", src) },
        "max-levels": { c, v, src in c.maxLevels = try v.asInt("max-levels", src) },
        "optimizer-state-on-switch": { c, v, src in
            c.optimizerStateOnSwitch = try v.asString("optimizer-state-on-switch", src)
        },
        "epochs": { c, v, src in c.epochs = try v.asInt("epochs", src) },
        "batch-size": { c, v, src in c.batchSize = try v.asInt("batch-size", src) },
        "lr": { c, v, src in c.lr = try v.asDouble("lr", src) },
        "optimizer": { c, v, src in c.optimizer = try v.asString("optimizer", src) },
        "momentum": { c, v, src in c.momentum = try v.asDouble("momentum", src) },
        "weight-decay": { c, v, src in c.weightDecay = try v.asDouble("weight-decay", src) },
        "schedule": { c, v, src in c.schedule = try v.asString("schedule", src) },
        "seed": { c, v, src in c.seed = try v.asInt("seed", src) },
        "subset": { c, v, src in c.subset = try v.asInt("subset", src) },
        "data-dir": { c, v, src in c.dataDir = try v.asString("data-dir", src) },
        "local-bn": { c, v, src in c.localBN = try v.asBool("local-bn", src) },
        "precise-bn": { c, v, src in c.preciseBN = try v.asInt("precise-bn", src) },
        "checkpoint-every": { c, v, src in c.checkpointEvery = try v.asInt("checkpoint-every", src) },
        "keep-checkpoints": { c, v, src in c.keepCheckpoints = try v.asInt("keep-checkpoints", src) },
        "saved-activations": { c, v, src in c.savedActivations = try v.asString("saved-activations", src) },
        "head": { c, v, src in c.head = try v.asString("head", src) },
        "input-layer": { c, v, src in c.inputLayer = try v.asBool("input-layer", src) },
        "init": { c, v, src in c.initialization = try v.asString("init", src) },
        "input-scaling": { c, v, src in c.inputScaling = try v.asString("input-scaling", src) },
        "augment": { c, v, src in c.augment = try v.asBool("augment", src) },
        "preset": { c, v, src in c.preset = try v.asString("preset", src) },
        "train-points": { c, v, src in c.trainPoints = try v.asInt("train-points", src) },
        "test-points": { c, v, src in c.testPoints = try v.asInt("test-points", src) },
        "noise": { c, v, src in c.noise = try v.asDouble("noise", src) },
    ]

    public static var settableKeys: [String] { setters.keys.sorted() }

    /// Applies `value` to `key`; `source` names where it came from (a file, or "command line").
    public mutating func set(_ key: String, _ value: ConfigValue, source: String) throws {
        guard let setter = Self.setters[key] else {
            throw ConfigError.unknownKey(key, file: source, known: Self.settableKeys)
        }
        try setter(&self, value, source)
    }

    /// Reads a YAML mapping of config keys. Unknown keys and wrong types are errors naming the key.
    public static func readOverrides(yamlFile path: String) throws -> [(key: String, value: ConfigValue)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError.unreadableFile(path: path, reason: "no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError.unreadableFile(path: path, reason: "not UTF-8 text")
        }
        return try parseOverrides(yaml: text, source: path)
    }

    public static func parseOverrides(yaml text: String, source: String) throws -> [(key: String, value: ConfigValue)] {
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
        var result: [(key: String, value: ConfigValue)] = []
        for (k, v) in mapping {
            guard let key = k.scalar?.string else {
                throw ConfigError.unreadableFile(path: source, reason: "a key is not a plain string")
            }
            guard setters[key] != nil else {
                throw ConfigError.unknownKey(key, file: source, known: settableKeys)
            }
            result.append((key, try configValue(v, key: key, source: source)))
        }
        return result
    }

    static func configValue(_ node: Node, key: String, source: String) throws -> ConfigValue {
        if let seq = node.sequence {
            return .list(try seq.map { try configValue($0, key: key, source: source) })
        }
        guard let scalar = node.scalar else {
            throw ConfigError.wrongType(key: key, file: source, expected: "a number, a string, a boolean or a list")
        }
        if scalar.style == .plain {
            if let i = Int(scalar.string) { return .int(i) }
            if let d = Double(scalar.string) { return .double(d) }
            switch scalar.string {
            case "true", "yes", "on": return .bool(true)
            case "false", "no", "off": return .bool(false)
            default: break
            }
        }
        return .string(scalar.string)
    }

    /// The config as YAML, with kebab-case keys (what `--config` reads back).
    public func yaml() throws -> String {
        let encoder = YAMLEncoder()
        let text = try encoder.encode(self)
        // Field names are camelCase in Swift; files and flags use kebab-case.
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix(" "), !line.hasPrefix("-") else {
                return String(line)
            }
            return Self.kebab(String(line[..<colon])) + line[colon...]
        }.joined(separator: "\n")
    }

    static func kebab(_ camel: String) -> String {
        switch camel {
        case "switchMode": return "switch"
        case "integrators": return "integrator"
        case "localBN": return "local-bn"
        case "preciseBN": return "precise-bn"
        case "initialization": return "init"
        default:
            var out = ""
            for ch in camel {
                if ch.isUppercase { out += "-" + ch.lowercased() } else { out.append(ch) }
            }
            return out
        }
    }
}

extension ConfigValue {
    func asString(_ key: String, _ src: String) throws -> String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        default: throw ConfigError.wrongType(key: key, file: src, expected: "a string")
        }
    }

    func asInt(_ key: String, _ src: String) throws -> Int {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        case .string(let s) where Int(s) != nil: return Int(s)!
        default: throw ConfigError.wrongType(key: key, file: src, expected: "an integer")
        }
    }

    func asDouble(_ key: String, _ src: String) throws -> Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s) where Double(s) != nil: return Double(s)!
        default: throw ConfigError.wrongType(key: key, file: src, expected: "a number")
        }
    }

    func asBool(_ key: String, _ src: String) throws -> Bool {
        if case .bool(let b) = self { return b }
        throw ConfigError.wrongType(key: key, file: src, expected: "true or false")
    }

    /// A list, or one value, or a comma-separated string ("2,3,5").
    func asIntList(_ key: String, _ src: String) throws -> [Int] {
        switch self {
        case .list(let items): return try items.map { try $0.asInt(key, src) }
        case .string(let s):
            let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let ints = parts.compactMap { Int($0) }
            guard ints.count == parts.count, !ints.isEmpty else {
                throw ConfigError.wrongType(key: key, file: src, expected: "a list of integers such as 2,3,5")
            }
            return ints
        default: return [try asInt(key, src)]
        }
    }

    func asStringList(_ key: String, _ src: String) throws -> [String] {
        switch self {
        case .list(let items): return try items.map { try $0.asString(key, src) }
        case .string(let s): return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        default: throw ConfigError.wrongType(key: key, file: src, expected: "a name or a list of names")
        }
    }
}
