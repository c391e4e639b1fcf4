import ResNetCore
import ResNetDistributed

/// Backward with the gradients summed across ranks, and the step's loss and stop requests
/// agreed on in their own small reduction.
///
/// One path for every setting: as backward finishes each segment of the model (head, residual
/// groups from the last, stem), its gradient range joins a bucket; a bucket that holds at least
/// `bucketElements` floats starts its non-blocking allreduce at once, and the rest starts when
/// backward ends. `bucketElements = .max` makes the whole gradient buffer one allreduce after
/// backward; smaller buckets overlap communication with the rest of backward. The sums are the
/// same either way.
package struct GradientSync {
    let comm: Communicator
    /// Finished gradient ranges are gathered until a bucket holds at least this many floats.
    let bucketElements: Int

    /// The bucket size when the allreduce overlaps backward.
    static let overlappedBucketElements = 16_384

    /// One allreduce after backward, or with `overlap` buckets of `overlappedBucketElements`
    /// that overlap it. Training uses one allreduce; the benchmark compares the two.
    package init(comm: Communicator, overlap: Bool = false) {
        self.comm = comm
        self.bucketElements = overlap ? Self.overlappedBucketElements : .max
    }

    /// What the ranks agreed on in one step.
    struct Agreement {
        /// The sum of the ranks' losses (each normalised by the global batch): the global loss.
        var loss: Double
        /// Whether some rank asked to stop.
        var stop: Bool
        /// Seconds spent waiting for the reductions after backward (the communication that
        /// backward did not hide).
        var waitSeconds: Double
    }

    /// Runs `model.backward(gradient)` and returns once the gradients in `model.gradients`
    /// are the sums over all ranks, with the agreed loss and stop request.
    ///
    /// With `lateStop`, `stopRequested` is read once backward has finished and the loss and stop
    /// reduction starts last, so that a stop arriving at any time during a long step ends
    /// training after this step, not the next one. Without it the reduction starts first and
    /// overlaps backward (for short steps, where its latency would show and one more step does
    /// not matter). Every rank must pass the same `lateStop`.
    func backward(_ model: ResNetModel, _ gradient: Tensor, localLoss: Float, lateStop: Bool,
                  stopRequested: () -> Bool) throws -> Agreement {
        guard comm.size > 1 else {
            try model.backward(gradient)
            return Agreement(loss: Double(localLoss), stop: stopRequested(), waitSeconds: 0)
        }
        // The loss and the stop flag travel in their own two-float buffer.
        let agreed = UnsafeMutableBufferPointer<Float>.allocate(capacity: 2)
        defer { agreed.deallocate() }
        agreed[0] = localLoss
        var pending: [PendingReduction] = []
        if !lateStop {
            agreed[1] = stopRequested() ? 1 : 0
            pending.append(try comm.startAllreduceSum(agreed))
        }
        var bucket: UnsafeMutableBufferPointer<Float>?
        var failure: Error?
        func flush() {
            guard let b = bucket, failure == nil else { return }
            bucket = nil
            do { pending.append(try comm.startAllreduceSum(b)) } catch { failure = error }
        }
        // The model holds its gradient buffer for the whole backward and the waits, so no
        // pointer outlives its access.
        let waitSeconds = try model.backward(gradient, onGradientsReady: { ready in
            // Ranges arrive disjoint, adjacent and descending: extend the bucket downwards.
            if let b = bucket {
                bucket = UnsafeMutableBufferPointer(start: ready.baseAddress, count: ready.count + b.count)
            } else {
                bucket = ready
            }
            if bucket!.count >= bucketElements { flush() }
        }, finish: {
            let waitStart = ProcessStats.now()
            flush()
            if lateStop, failure == nil {
                agreed[1] = stopRequested() ? 1 : 0
                do { pending.append(try comm.startAllreduceSum(agreed)) } catch { failure = error }
            }
            var firstError = failure
            for p in pending {
                do { try p.wait() } catch { if firstError == nil { firstError = error } }
            }
            pending.removeAll()
            if let firstError { throw firstError }
            return ProcessStats.now() - waitStart
        })
        return Agreement(loss: Double(agreed[0]), stop: agreed[1] > 0, waitSeconds: waitSeconds)
    }
}
