import ResNetCore
import ResNetDistributed

/// The configured optimizer over the flat parameter buffer.
enum Optimizer {
    case adam(Adam)
    case sgd(SGD)

    /// A fresh optimizer for `parameterCount` parameters, or one that continues from `state` (a
    /// checkpoint's, rank 0's, or the state carried across a level switch).
    static func make(_ c: ExperimentConfig, parameterCount: Int, state: OptimizerState? = nil) -> Optimizer {
        let optimizer: Optimizer
        if c.optimizer == .sgd {
            optimizer = .sgd(SGD(parameterCount: parameterCount, momentum: Float(c.momentum), weightDecay: Float(c.weightDecay)))
        } else {
            optimizer = .adam(Adam(parameterCount: parameterCount, weightDecay: Float(c.weightDecay)))
        }
        if let state {
            switch optimizer {
            case .adam(let a):
                (a.m, a.v) = (state.moments[0], state.moments[1])
                a.stepCount = state.stepCount
            case .sgd(let s):
                s.velocity = state.moments[0]
            }
        }
        return optimizer
    }

    /// Rank 0's `state` carried on every rank (a collective; the other ranks' `state` only tells
    /// how many buffers), or a fresh optimizer for nil.
    static func shared(_ c: ExperimentConfig, parameterCount: Int, state: OptimizerState?, _ comm: Communicator) throws -> Optimizer {
        var state = state
        try state?.broadcast(parameterCount: parameterCount, comm)
        return make(c, parameterCount: parameterCount, state: state)
    }

    func step(_ parameters: inout [Float], _ gradients: [Float], learningRate: Float) {
        switch self {
        case .adam(let a): a.step(parameters: &parameters, gradients: gradients, learningRate: learningRate)
        case .sgd(let s): s.step(parameters: &parameters, gradients: gradients, learningRate: learningRate)
        }
    }

    /// What a checkpoint keeps and a level switch carries over.
    var state: OptimizerState {
        switch self {
        case .adam(let a): return OptimizerState(moments: [a.m, a.v], stepCount: a.stepCount)
        case .sgd(let s): return OptimizerState(moments: [s.velocity], stepCount: 0)
        }
    }
}

/// An optimizer's state, the one form in which state enters an optimizer (`Optimizer.make`, and
/// from rank 0 `Optimizer.shared`).
struct OptimizerState {
    /// The buffers laid out like the parameters: Adam's m and v; SGD's velocity.
    var moments: [[Float]]
    /// Steps taken (Adam's bias correction depends on it; SGD has none). The same on every rank.
    var stepCount: Int

    /// The state of prolonged parameters: every buffer copied as `map` copies the parameters;
    /// the step count continues.
    func prolonged(by map: ProlongationMap) -> OptimizerState {
        OptimizerState(moments: moments.map { map.apply(to: $0) }, stepCount: stepCount)
    }

    /// Every rank takes rank 0's buffers, of `parameterCount` floats each.
    fileprivate mutating func broadcast(parameterCount: Int, _ comm: Communicator) throws {
        for i in moments.indices {
            if !comm.isRoot { moments[i] = [Float](repeating: 0, count: parameterCount) }
            try comm.broadcast(&moments[i], root: 0)
        }
    }
}
