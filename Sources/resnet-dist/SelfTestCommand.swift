import ArgumentParser
import Foundation
import ResNetCore
import ResNetDistributed
import ResNetTraining

/// Checks of the MPI layer that run under mpirun: used by `launch/test`, and useful on a new
/// cluster to see that collectives work before starting a long job.
struct SelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check MPI collectives across the job's ranks (exit 0 when all checks pass).",
        discussion: """
            CHECK is one of:
              collectives      allreduce (float32, float64), broadcast from rank 0 and the last \
            rank, gather; exact values on every rank
              length-mismatch  the last rank reduces a longer buffer: every rank must get a clear \
            error and the job must exit non-zero
              mpi-error        a broadcast from a rank that does not exist must come back as a \
            thrown error carrying MPI's own message
              hosts            each rank reports its processor name; rank 0 prints them
              determinism      every rank builds each preset model from the same spec and seed; \
            their flat buffers must be bit-identical (checksums gathered on rank 0)
              precise-bn       BatchNorm statistics re-estimated over the ranks' shards of three \
            batches (synchronised) must equal, to 1e-6, the average of each whole batch's \
            statistics computed by one process, whatever the running statistics held before
            """)

    /// Every check, in the order the help lists them.
    static let checks = ["collectives", "length-mismatch", "mpi-error", "hosts", "determinism", "precise-bn"]
    static var spelledChecks: String { checks.dropLast().joined(separator: ", ") + " or " + checks.last! }

    @Argument(help: ArgumentHelp("The check to run: \(spelledChecks).", valueName: "check"))
    var check: String = "collectives"

    func run() throws {
        try runMPIJob { comm in try run(check: check, comm) }
    }

    private func run(check: String, _ comm: Communicator) throws {
        switch check {
        case "collectives": try checkCollectives(comm)
        case "length-mismatch": try checkLengthMismatch(comm)
        case "mpi-error": try checkMPIError(comm)
        case "hosts": try reportHosts(comm)
        case "determinism": try checkDeterminism(comm)
        case "precise-bn": try checkPreciseBatchNorm(comm)
        default:
            throw ValidationError("unknown check '\(check)'; use \(Self.spelledChecks)")
        }
    }

    private func say(_ comm: Communicator, _ text: String) {
        print("rank \(comm.rank)/\(comm.size): \(text)")
        fflush(stdout)
    }

    private func checkCollectives(_ comm: Communicator) throws {
        let n = 1000
        var failures = 0
        // Rank r contributes (r+1)·i at index i, so the sum is i·size(size+1)/2.
        var f32 = (0..<n).map { Float($0 * (comm.rank + 1)) }
        var f64 = (0..<n).map { Double($0 * (comm.rank + 1)) }
        try comm.allreduceSum(&f32)
        try comm.allreduceSum(&f64)
        let factor = comm.size * (comm.size + 1) / 2
        for i in 0..<n where f32[i] != Float(i * factor) || f64[i] != Double(i * factor) {
            failures += 1
        }
        say(comm, "allreduce float32+float64 over \(n) elements: \(failures == 0 ? "exact" : "\(failures) wrong")")

        // Non-blocking sum must match the blocking one.
        var nb = (0..<n).map { Float($0 * (comm.rank + 1)) }
        let pending = try nb.withUnsafeMutableBufferPointer { try comm.startAllreduceSum($0) }
        try pending.wait()
        let nbWrong = (0..<n).filter { nb[$0] != Float($0 * factor) }.count
        failures += nbWrong
        say(comm, "non-blocking allreduce: \(nbWrong == 0 ? "exact" : "\(nbWrong) wrong")")

        for root in Set([0, comm.size - 1]).sorted() {
            let expected = (0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ root &* 7) }
            var bytes = comm.rank == root ? expected : [UInt8](repeating: 0, count: 3)
            try comm.broadcast(&bytes, root: root)
            let ok = bytes == expected
            if !ok { failures += 1 }
            say(comm, "broadcast of \(expected.count) bytes from rank \(root): \(ok ? "identical" : "DIFFERENT")")
        }

        let record = withUnsafeBytes(of: Int64(comm.rank * 1000 + 7).littleEndian) { Array($0) }
        if let all = try comm.gather(record: record, root: 0) {
            let values = all.map { $0.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) } }
            let ok = values == (0..<comm.size).map { Int64($0 * 1000 + 7) }
            if !ok { failures += 1 }
            say(comm, "gather of \(comm.size) records on rank 0: \(ok ? "in rank order" : "WRONG \(values)")")
        }
        try comm.barrier()
        guard failures == 0 else { throw SelfTestFailure(text: "\(failures) collective checks failed") }
        say(comm, "collectives: all checks passed")
    }

    private func checkLengthMismatch(_ comm: Communicator) throws {
        var buffer = [Float](repeating: 1, count: comm.rank == comm.size - 1 ? 11 : 10)
        try comm.allreduceSum(&buffer)
        // Reaching this line means the mismatch went unnoticed.
        throw SelfTestFailure(text: "allreduce of mismatched lengths returned without an error")
    }

    private func checkMPIError(_ comm: Communicator) throws {
        var bytes: [UInt8] = [1, 2, 3]
        do {
            try bytes.withUnsafeMutableBytes { try comm.broadcast($0, root: comm.size + 5) }
        } catch let error as CommunicatorError {
            say(comm, "broadcast from rank \(comm.size + 5) threw: \(error)")
            if case .mpi(_, _, let message) = error, !message.isEmpty { return }
            throw SelfTestFailure(text: "the error did not carry MPI's message")
        }
        throw SelfTestFailure(text: "a broadcast from a non-existent rank did not fail")
    }

    private func checkDeterminism(_ comm: Communicator) throws {
        let specs: [(String, ModelSpec)] = [
            ("regression MLP, 3 blocks", .mlp(blocks: 3)),
            ("Fashion-MNIST CNN [3,3], midpoint", .fashionMNIST(blocks: [3, 3], integrator: .midpoint)),
            ("CIFAR-10 CNN [2,2,2]", .cifar10()),
        ]
        var mismatches = 0
        for (name, spec) in specs {
            let model = ResNetModel(spec: spec, seed: 42)
            let sum = model.checksum()
            let record = withUnsafeBytes(of: sum.littleEndian) { Array($0) }
            if let all = try comm.gather(record: record, root: 0) {
                let sums = all.map { $0.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } }
                let same = Set(sums).count == 1
                if !same { mismatches += 1 }
                say(comm, "\(name): \(model.parameterCount) parameters, checksum \(String(sum, radix: 16)) \(same ? (comm.size == 1 ? "on the 1 rank" : "identical on all \(comm.size) ranks") : "DIFFERS across ranks: \(sums)")")
            }
        }
        var failures = [Double(mismatches)]
        try comm.allreduceSum(&failures)
        guard failures[0] == 0 else { throw SelfTestFailure(text: "models built from the same spec and seed differ across ranks") }
    }

    private func checkPreciseBatchNorm(_ comm: Communicator) throws {
        let spec = ModelSpec(kind: .cnn, inputShape: [1, 10, 10], outputs: 10, widths: [4, 8], blocks: [2, 2],
                             h: 0.5, integrator: .midpoint, inputLayer: true, head: .flatten)
        let batch = 12
        let inputs: [Tensor] = (0..<3).map { k in
            var rng = SplitMix64(seed: 100 + UInt64(k))
            return Tensor(shape: [batch, 1, 10, 10], data: (0..<(batch * 100)).map { _ in rng.nextUniform(bound: 1) })
        }
        // Reference: one process, whole batches, each batch's statistics alone (momentum 1).
        let reference = ResNetModel(spec: spec, seed: 9)
        reference.statisticsMomentum = 1
        var sums = [Double](repeating: 0, count: reference.state.count)
        for x in inputs {
            _ = try reference.forward(x, training: true)
            for i in sums.indices { sums[i] += Double(reference.state[i]) }
        }
        // This rank's rows of each batch, BatchNorm synchronised, the old statistics spoilt.
        let model = ResNetModel(spec: spec, seed: 9)
        model.batchNormReducer = comm.size > 1 ? try CommunicatorReducer(comm, model: model) : nil
        for i in model.state.indices { model.state[i] = i % 3 == 0 ? .nan : 1e3 + Float(i) }
        let rows = (batch * comm.rank / comm.size)..<(batch * (comm.rank + 1) / comm.size)
        try model.reestimateBatchNormStatistics(batches: inputs.count) { k in
            let x = inputs[k]
            let shard = Tensor(shape: [rows.count, 1, 10, 10], data: Array(x.data[(rows.lowerBound * 100)..<(rows.upperBound * 100)]))
            _ = try model.forward(shard, training: true)
        }
        var worst = 0.0
        for i in sums.indices {
            let expected = sums[i] / Double(inputs.count)
            let d = abs(Double(model.state[i]) - expected) / max(1, abs(expected))
            worst = max(worst, d.isNaN ? .infinity : d)
        }
        let ok = worst <= 1e-6
        say(comm, "precise BatchNorm over \(model.state.count) statistics: max relative difference \(String(format: "%.2e", worst)) from the average of the batches' statistics \(ok ? "(within 1e-6)" : "(TOO LARGE)")")
        var failures = [ok ? 0.0 : 1.0]
        try comm.allreduceSum(&failures)
        guard failures[0] == 0 else { throw SelfTestFailure(text: "precise BatchNorm statistics differ from the average of the batches' statistics") }
    }

    private func reportHosts(_ comm: Communicator) throws {
        var name = Array(comm.processorName.utf8.prefix(255))
        name += [UInt8](repeating: 0, count: 256 - name.count)
        if let all = try comm.gather(record: name, root: 0) {
            for (r, rec) in all.enumerated() {
                let host = String(decoding: rec.prefix { $0 != 0 }, as: UTF8.self)
                print("rank \(r) host \(host)")
            }
        }
    }
}

struct SelfTestFailure: CollectiveError, CustomStringConvertible {
    let text: String
    var description: String { "selftest failed: \(text)" }
}

