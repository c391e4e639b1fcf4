import CKernels
import Foundation

/// Optimizers over the flat buffers: one loop over all parameters.

/// Adam (Kingma & Ba) with PyTorch's conventions: bias-corrected moments,
/// p ← p − lr·m̂/(√v̂ + ε), optional L2 weight decay added to the gradient.
public final class Adam {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float
    /// First and second moment buffers, same layout as the parameters.
    public var m: [Float]
    public var v: [Float]
    /// Steps taken so far (the bias correction uses it).
    public var stepCount: Int = 0

    public init(parameterCount: Int, weightDecay: Float = 0) {
        m = [Float](repeating: 0, count: parameterCount)
        v = [Float](repeating: 0, count: parameterCount)
        self.weightDecay = weightDecay
    }

    public func step(parameters: inout [Float], gradients: [Float], learningRate: Float) {
        precondition(parameters.count == m.count && gradients.count == m.count, "Adam buffer size mismatch")
        stepCount += 1
        let t = Double(stepCount)
        let correction1 = Float(1 - pow(Double(beta1), t))
        let correction2 = Float(1 - pow(Double(beta2), t))
        // The update itself is CKernels' (see ck_optimizer.h for its arithmetic, one rounding
        // per operation).
        let coefficients = ck_adam_coefficients(
            beta1: beta1, one_minus_beta1: 1 - beta1, beta2: beta2, one_minus_beta2: 1 - beta2,
            weight_decay: weightDecay, step_size: learningRate / correction1,
            inverse_root_correction2: 1 / correction2.squareRoot(), epsilon: epsilon)
        let count = m.count
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        guard count > 0 else { return }
                        let status = ck_adam_step(CK_PATH_AUTO, count, p.baseAddress!, g.baseAddress!,
                                                  m.baseAddress!, v.baseAddress!, coefficients)
                        precondition(status == 0, "ck_adam_step failed (\(status))")
                    }
                }
            }
        }
    }
}

/// SGD with momentum and L2 weight decay (PyTorch convention, no dampening):
/// g ← g + wd·p;  buf ← μ·buf + g;  p ← p − lr·buf.
public final class SGD {
    public var momentum: Float
    public var weightDecay: Float
    public var velocity: [Float]

    public init(parameterCount: Int, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.momentum = momentum
        self.weightDecay = weightDecay
        velocity = [Float](repeating: 0, count: parameterCount)
    }

    public func step(parameters: inout [Float], gradients: [Float], learningRate: Float) {
        precondition(parameters.count == velocity.count && gradients.count == velocity.count, "SGD buffer size mismatch")
        let mu = momentum, wd = weightDecay, count = velocity.count
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeBufferPointer { g in
                velocity.withUnsafeMutableBufferPointer { b in
                    for i in 0..<count {
                        b[i] = mu * b[i] + g[i] + wd * p[i]
                        p[i] -= learningRate * b[i]
                    }
                }
            }
        }
    }
}

/// Learning rate as a function of progress within the current level.
/// Cosine annealing restarts at every level switch (as Chang et al. 2018 do): the caller
/// passes the step (or epoch) index counted from the start of the level.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    case constant
    /// lr = min + (base − min)·(1 + cos(π·t/T))/2 over a level of T steps.
    case cosineAnnealing(minimum: Double)

    public func learningRate(base: Double, stepInLevel: Int, stepsInLevel: Int) -> Double {
        switch self {
        case .constant:
            return base
        case .cosineAnnealing(let minimum):
            let steps = max(1, stepsInLevel)
            return minimum + (base - minimum) * (1 + cos(Double.pi * Double(min(stepInLevel, steps)) / Double(steps))) / 2
        }
    }
}
