import ResNetCore
import ResNetDistributed

/// Sums BatchNorm statistics across ranks (synchronised BatchNorm): one allreduce per call.
///
/// Every BatchNorm layer calls it twice a step (batch statistics in forward, gradient sums in
/// backward), with lengths fixed by the model. So the lengths are checked once, when the reducer
/// is made for a model — the ranks must agree on the model's BatchNorm layers, names and sizes —
/// and each call is then a single collective instead of a length check's two plus the sum.
public final class CommunicatorReducer: BatchNormReducer {
    let comm: Communicator

    /// Checks on every rank that all ranks hold the same BatchNorm layers as `model` (throws
    /// `CommunicatorError.disagreement` on every rank otherwise). Make a new one for a new model.
    public init(_ comm: Communicator, model: ResNetModel) throws {
        self.comm = comm
        var layout = FNV1a64()
        for slot in model.stateSlots {
            layout.update(slot.name.utf8)
            layout.update(CollectionOfOne(0))
            withUnsafeBytes(of: UInt64(slot.count).littleEndian) { layout.update($0) }
        }
        try comm.verifyAgreement([("the model's BatchNorm layers (names and sizes of their statistics)",
                                   Int64(bitPattern: layout.value))])
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try comm.allreduceSum(agreedLength: values)
    }
}
