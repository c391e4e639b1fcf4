import ResNetDistributed

/// A config that cannot run, with a message naming the problem and the fix.
public enum ConfigError: CollectiveError, CustomStringConvertible, Equatable {
    case unknownExperiment(String, known: [String])
    case unknownVariant(String, experiment: String, known: [String])
    case invalid(key: String, problem: String)
    case unknownKey(String, file: String, known: [String])
    case wrongType(key: String, file: String, expected: String)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownExperiment(name, known):
            return "unknown experiment '\(name)'; choose one of \(known.joined(separator: ", ")) (see `resnet-dist experiments`)"
        case let .unknownVariant(name, experiment, known):
            return "experiment '\(experiment)' has no variant '\(name)'; choose one of \(known.joined(separator: ", "))"
        case let .invalid(key, problem):
            return "invalid --\(key): \(problem)"
        case let .unknownKey(key, file, known):
            return "\(file): unknown key '\(key)'; known keys are \(known.joined(separator: ", "))"
        case let .wrongType(key, file, expected):
            return "\(file): key '\(key)' must be \(expected)"
        case let .unreadableFile(path, reason):
            return "cannot read config file \(path): \(reason)"
        }
    }
}
