import ResNetCore

/// The configured optimizer over the flat parameter buffer.
enum Optimizer {
    case adam(Adam)
    case sgd(SGD)

    static func make(_ c: ExperimentConfig, parameterCount: Int) -> Optimizer {
        if c.optimizer == .sgd {
            return .sgd(SGD(parameterCount: parameterCount, momentum: Float(c.momentum), weightDecay: Float(c.weightDecay)))
        }
        return .adam(Adam(parameterCount: parameterCount, weightDecay: Float(c.weightDecay)))
    }

    func step(_ parameters: inout [Float], _ gradients: [Float], learningRate: Float) {
        switch self {
        case .adam(let a): a.step(parameters: &parameters, gradients: gradients, learningRate: learningRate)
        case .sgd(let s): s.step(parameters: &parameters, gradients: gradients, learningRate: learningRate)
        }
    }

    /// The state buffers laid out like the parameters (Adam's m and v; SGD's velocity).
    var moments: [[Float]] {
        switch self {
        case .adam(let a): return [a.m, a.v]
        case .sgd(let s): return [s.velocity]
        }
    }

    /// Steps taken (Adam's bias correction depends on it; SGD has none).
    var stepCount: Int {
        get { if case .adam(let a) = self { return a.stepCount } else { return 0 } }
        nonmutating set { if case .adam(let a) = self { a.stepCount = newValue } }
    }

    /// Takes over prolonged state buffers (same order as `moments`).
    func adopt(moments: [[Float]], parameterCount: Int) {
        switch self {
        case .adam(let a):
            a.m = moments[0]
            a.v = moments[1]
        case .sgd(let s):
            s.velocity = moments[0]
        }
    }
}
