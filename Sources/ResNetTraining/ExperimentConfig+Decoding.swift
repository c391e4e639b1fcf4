import ResNetCore

/// Reading a config. Keys added after the first configs were written may be absent from older
/// `config.yaml` files and checkpoints; each takes the value those runs trained with, here and
/// nowhere else. Every other key is required.
extension ExperimentConfig {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys) throws -> T { try c.decode(T.self, forKey: key) }
        func value<T: Decodable>(_ key: CodingKeys, absent: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? absent }
        experiment = try value(.experiment)
        variant = try value(.variant)
        dataset = try value(.dataset)
        model = try value(.model)
        width = try value(.width)
        channels = try value(.channels)
        activation = try value(.activation)
        blocks = try value(.blocks)
        levels = try value(.levels)
        prolongation = try value(.prolongation)
        h = try value(.h)
        integrators = try value(.integrators)
        switchMode = try value(.switchMode)
        switchEpochs = try value(.switchEpochs)
        patience = try value(.patience)
        minImprovement = try value(.minImprovement)
        maxLevels = try value(.maxLevels)
        optimizerStateOnSwitch = try value(.optimizerStateOnSwitch)
        epochs = try value(.epochs)
        batchSize = try value(.batchSize)
        lr = try value(.lr)
        optimizer = try value(.optimizer)
        momentum = try value(.momentum)
        weightDecay = try value(.weightDecay)
        schedule = try value(.schedule)
        seed = try value(.seed)
        subset = try value(.subset)
        dataDir = try value(.dataDir)
        localBN = try value(.localBN)
        preciseBN = try value(.preciseBN)
        checkpointEvery = try value(.checkpointEvery)
        trainPoints = try value(.trainPoints)
        testPoints = try value(.testPoints)
        noise = try value(.noise)
        // The keys added later, as runs without them trained.
        keepCheckpoints = try value(.keepCheckpoints, absent: 3)
        savedActivations = try value(.savedActivations, absent: .half)
        head = try value(.head, absent: .pool)
        inputLayer = try value(.inputLayer, absent: false)
        initialization = try value(.initialization, absent: .scaled)
        inputScaling = try value(.inputScaling, absent: .raw)
        augment = try value(.augment, absent: dataset == .cifar10)
        preset = try value(.preset, absent: .fit)
        hRule = try value(.hRule, absent: .halve)
    }
}
