import ArgumentParser
import Foundation
import ResNetCore
import ResNetDistributed

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
            """)

    @Argument(help: "The check to run: collectives, length-mismatch, mpi-error or hosts.")
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
        default:
            throw ValidationError("unknown check '\(check)'; use collectives, length-mismatch, mpi-error or hosts")
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
                say(comm, "\(name): \(model.parameterCount) parameters, checksum \(String(sum, radix: 16)) \(same ? "identical on all \(comm.size) ranks" : "DIFFERS across ranks: \(sums)")")
            }
        }
        var failures = [Double(mismatches)]
        try comm.allreduceSum(&failures)
        guard failures[0] == 0 else { throw SelfTestFailure(text: "models built from the same spec and seed differ across ranks") }
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

