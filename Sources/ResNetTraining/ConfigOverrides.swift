import Foundation
import ResNetCore
import Yams

/// The config keys one source sets — a YAML file, the command line, or a whole `config.yaml` —
/// as typed values; nil is a key the source leaves alone. The YAML reader and the argument
/// parser both produce one, and a run's config is `builtIn.merging(file).merging(flags)`
/// (`ExperimentConfig.resolve`).
public struct ConfigOverrides: Equatable, Sendable {
    public var experiment: String?
    public var variant: String?
    public var dataset: Dataset?
    public var model: ModelSpec.Kind?
    public var width: Int?
    public var channels: [Int]?
    public var activation: Activation?
    public var blocks: [Int]?
    public var levels: [Int]?
    public var prolongation: Prolongation?
    public var h: Double?
    public var integrators: [Integrator]?
    public var switchMode: SwitchRule?
    public var switchEpochs: [Int]?
    public var patience: Int?
    public var minImprovement: Double?
    public var maxLevels: Int?
    public var optimizerStateOnSwitch: OptimizerStateOnSwitch?
    public var epochs: Int?
    public var batchSize: Int?
    public var lr: Double?
    public var optimizer: OptimizerKind?
    public var momentum: Double?
    public var weightDecay: Double?
    public var schedule: ScheduleKind?
    public var seed: Int?
    public var subset: Int?
    public var dataDir: String?
    public var localBN: Bool?
    public var preciseBN: Int?
    public var checkpointEvery: Int?
    public var keepCheckpoints: Int?
    public var savedActivations: HalfPrecision.Storage?
    public var head: ModelSpec.Head?
    public var inputLayer: Bool?
    public var initialization: ModelSpec.Initialization?
    public var inputScaling: InputScaling?
    public var augment: Bool?
    public var preset: Preset?
    public var hRule: StepRule?
    public var levelLRFactor: Double?
    public var trainPoints: Int?
    public var testPoints: Int?
    public var noise: Double?

    public init() {}

    public typealias Key = ExperimentConfig.CodingKeys

    /// Every key: where its value lives here and in a config. Declared in the order of
    /// `ExperimentConfig.CodingKeys`.
    static var fields: [Field] {
        [Field(.experiment, \.experiment, \.experiment), Field(.variant, \.variant, \.variant),
         Field(.dataset, \.dataset, \.dataset), Field(.model, \.model, \.model), Field(.width, \.width, \.width),
         Field(.channels, \.channels, \.channels), Field(.activation, \.activation, \.activation),
         Field(.blocks, \.blocks, \.blocks), Field(.levels, \.levels, \.levels),
         Field(.prolongation, \.prolongation, \.prolongation), Field(.h, \.h, \.h),
         Field(.integrators, \.integrators, \.integrators), Field(.switchMode, \.switchMode, \.switchMode),
         Field(.switchEpochs, \.switchEpochs, \.switchEpochs), Field(.patience, \.patience, \.patience),
         Field(.minImprovement, \.minImprovement, \.minImprovement), Field(.maxLevels, \.maxLevels, \.maxLevels),
         Field(.optimizerStateOnSwitch, \.optimizerStateOnSwitch, \.optimizerStateOnSwitch),
         Field(.epochs, \.epochs, \.epochs), Field(.batchSize, \.batchSize, \.batchSize), Field(.lr, \.lr, \.lr),
         Field(.optimizer, \.optimizer, \.optimizer), Field(.momentum, \.momentum, \.momentum),
         Field(.weightDecay, \.weightDecay, \.weightDecay), Field(.schedule, \.schedule, \.schedule),
         Field(.seed, \.seed, \.seed), Field(.subset, \.subset, \.subset), Field(.dataDir, \.dataDir, \.dataDir),
         Field(.localBN, \.localBN, \.localBN), Field(.preciseBN, \.preciseBN, \.preciseBN),
         Field(.checkpointEvery, \.checkpointEvery, \.checkpointEvery),
         Field(.keepCheckpoints, \.keepCheckpoints, \.keepCheckpoints),
         Field(.savedActivations, \.savedActivations, \.savedActivations), Field(.head, \.head, \.head),
         Field(.inputLayer, \.inputLayer, \.inputLayer), Field(.initialization, \.initialization, \.initialization),
         Field(.inputScaling, \.inputScaling, \.inputScaling), Field(.augment, \.augment, \.augment),
         Field(.preset, \.preset, \.preset), Field(.hRule, \.hRule, \.hRule),
         Field(.levelLRFactor, \.levelLRFactor, \.levelLRFactor),
         Field(.trainPoints, \.trainPoints, \.trainPoints), Field(.testPoints, \.testPoints, \.testPoints),
         Field(.noise, \.noise, \.noise)]
    }

    /// One key, typed: reads its value, and moves it between overrides and configs.
    struct Field {
        let key: Key
        let read: (_ node: Node, _ into: inout ConfigOverrides, _ source: String) throws -> Void
        let decode: (_ container: KeyedDecodingContainer<Key>, _ into: inout ConfigOverrides) throws -> Void
        let isGiven: (ConfigOverrides) -> Bool
        let clear: (inout ConfigOverrides) -> Void
        let merge: (ConfigOverrides, inout ExperimentConfig) -> Void
        /// Whether two configs hold the same value.
        let agree: (ExperimentConfig, ExperimentConfig) -> Bool

        init<T: ConfigValue & Codable>(_ key: Key, _ own: WritableKeyPath<ConfigOverrides, T?>,
                                        _ config: WritableKeyPath<ExperimentConfig, T>) {
            self.key = key
            read = { node, o, source in o[keyPath: own] = try T.read(node, key: key, source: source) }
            decode = { c, o in if c.contains(key) { o[keyPath: own] = try c.decode(T.self, forKey: key) } }
            isGiven = { $0[keyPath: own] != nil }
            clear = { $0[keyPath: own] = nil }
            merge = { o, c in if let v = o[keyPath: own] { c[keyPath: config] = v } }
            agree = { $0[keyPath: config] == $1[keyPath: config] }
        }
    }

    /// The keys this source sets, in the order of `config.yaml`.
    public var givenKeys: [Key] { Self.fields.filter { $0.isGiven(self) }.map(\.key) }

    /// These overrides without `keys`.
    public func removing(_ keys: Set<Key>) -> ConfigOverrides {
        var o = self
        for f in Self.fields where keys.contains(f.key) { f.clear(&o) }
        return o
    }

    /// Sets `key` from a flag's text, read as a YAML file's value is ("2,3,5" for a list); a
    /// wrong value is an error naming the flag and the value.
    public mutating func set(_ key: Key, text: String, source: String) throws {
        do {
            try Self.fields.first { $0.key == key }!.read(Node(text), &self, source)
        } catch ConfigError.wrongType(_, _, let expected) {
            throw ConfigError.invalid(key: key.rawValue, problem: "'\(text)' is not \(expected) (\(source))")
        }
    }
}

extension ConfigOverrides {
    /// Reads a YAML mapping of config keys (a `--config` file); `anySpelling` also takes the
    /// property names of the JSON form (`config_json` in checkpoints). Unknown keys and values of
    /// the wrong type are errors naming the key and the source.
    public init(yaml text: String, source: String, anySpelling: Bool = false) throws {
        self.init()
        let byKey = Dictionary(uniqueKeysWithValues: Self.fields.map { ($0.key, $0) })
        for (key, node) in try ExperimentConfig.parseOverrides(yaml: text, source: source, anySpelling: anySpelling) {
            try byKey[key]!.read(node, &self, source)
        }
    }

    /// Reads a `--config` file.
    public init(yamlFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError.unreadableFile(path: path, reason: "no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError.unreadableFile(path: path, reason: "not UTF-8 text")
        }
        try self.init(yaml: text, source: path)
    }
}

extension ConfigOverrides: Decodable {
    /// The keys a Codable form holds (JSON with kebab-case keys), each decoded as its type.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: Key.self)
        for f in Self.fields { try f.decode(c, &self) }
    }
}

extension ExperimentConfig {
    /// This config with every key `overrides` sets replaced. One block count applies to every
    /// group of the CNN, and block counts that are the same in every group follow a change in the
    /// number of groups.
    public func merging(_ overrides: ConfigOverrides) -> ExperimentConfig {
        var c = self
        for f in ConfigOverrides.fields { f.merge(overrides, &c) }
        if c.model == .cnn, c.blocks.count != c.channels.count, let b = c.blocks.first, c.blocks.allSatisfy({ $0 == b }),
           overrides.blocks.map({ $0.count == 1 }) ?? (overrides.channels != nil) {
            c.blocks = c.channels.map { _ in b }
        }
        return c
    }

    /// A whole config from a source that gives every key — `config.yaml`, or the JSON form in a
    /// checkpoint. Keys added after the first configs were written may be absent: each takes
    /// the value those runs trained with, here and nowhere else. Every other key is required.
    public init(complete given: ConfigOverrides, source: String) throws {
        var o = given
        o.keepCheckpoints = o.keepCheckpoints ?? 3
        o.savedActivations = o.savedActivations ?? .half
        o.head = o.head ?? .pool
        o.inputLayer = o.inputLayer ?? false
        o.initialization = o.initialization ?? .scaled
        o.inputScaling = o.inputScaling ?? .raw
        o.augment = o.augment ?? (o.dataset == .cifar10)
        o.preset = o.preset ?? .fit
        o.hRule = o.hRule ?? .halve
        o.levelLRFactor = o.levelLRFactor ?? 1
        if let missing = ConfigOverrides.fields.first(where: { !$0.isGiven(o) }) {
            throw ConfigError.unreadableFile(path: source, reason: "it has no key '\(missing.key.rawValue)'")
        }
        // Every key is given, so each value of the starting config is replaced.
        self = Experiment.mlpBase("", dataset: .regressionF1)
        for f in ConfigOverrides.fields { f.merge(o, &self) }
    }

    /// Reads a whole config from YAML (`config.yaml`) or from its JSON form, including those
    /// written by earlier versions.
    public static func decode(_ text: String, source: String) throws -> ExperimentConfig {
        try ExperimentConfig(complete: ConfigOverrides(yaml: text, source: source, anySpelling: true), source: source)
    }

    /// The keys on which two configs hold the same value.
    static func keysWithEqualValues(_ a: ExperimentConfig, _ b: ExperimentConfig) -> Set<CodingKeys> {
        Set(ConfigOverrides.fields.filter { $0.agree(a, b) }.map(\.key))
    }

    /// A run's config: the built-in experiment, variant and preset (the flags', else the file's,
    /// else regression's default variant), then the file's keys, then the flags'.
    ///
    /// A config file restates the variant it was written for (those in launch/experiments are
    /// whole configs of the default variant). Keys that only repeat that variant's built-in
    /// values give way to the variant asked for, so `--variant deep` or `compare` trains each
    /// variant's own network; keys the file changes still apply to every variant. In a
    /// comparison (`comparing`) the level schedule belongs to the multi-level variants: the
    /// single-level baselines ignore it. A run of another length than the built-in keeps the
    /// built-in switches at the same fractions of training unless switch epochs are given.
    public static func resolve(file: ConfigOverrides = ConfigOverrides(), fileSource: String = "",
                               flags: ConfigOverrides, comparing: Bool = false) throws -> ExperimentConfig {
        let name = flags.experiment ?? file.experiment ?? "regression"
        let preset = flags.preset ?? file.preset
        let base = try builtIn(experiment: name, variant: flags.variant ?? file.variant, preset: preset)
        let fileVariant = try builtIn(experiment: name, variant: file.variant, preset: preset)
        let named: Set<CodingKeys> = [.experiment, .variant, .preset]
        var fromFile = file.removing(named)
        fromFile = fromFile.removing(keysWithEqualValues(fileVariant.merging(fromFile), fileVariant))
        var fromFlags = flags.removing(named)
        if comparing && base.levelCount == 1 {
            let scheduleKeys: Set<CodingKeys> = [.switchEpochs, .levels, .switchMode]
            fromFile = fromFile.removing(scheduleKeys)
            fromFlags = fromFlags.removing(scheduleKeys)
        }
        var config = base.merging(fromFile).merging(fromFlags)
        if config.epochs != base.epochs, fromFile.switchEpochs == nil, fromFlags.switchEpochs == nil,
           !config.switchEpochs.isEmpty {
            // Switches that no longer fit before the last epoch are dropped (a 1-epoch run has one level).
            config.switchEpochs = scaledSwitchEpochs(base.switchEpochs, from: base.epochs, to: config.epochs)
                .filter { $0 < config.epochs }
        }
        try config.validate()
        return config
    }
}
