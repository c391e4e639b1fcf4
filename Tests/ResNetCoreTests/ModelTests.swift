import Foundation
import XCTest
@testable import ResNetCore

final class ModelTests: XCTestCase {
    static let tinyCNN = ModelSpec(kind: .cnn, inputShape: [2, 6, 5], outputs: 3, widths: [3, 4], blocks: [1, 2],
                                   h: 0.5, integrator: .euler, activation: .sigmoid)

    /// Whole-model FD check (sampled parameters and inputs) against `backward`.
    func modelGradientCheck(_ model: ResNetModel, input: Tensor) throws -> (Double, [String]) {
        let y = try model.forward(input, training: true)
        let r = randomTensor(y.shape, seed: 31)
        model.zeroGradients()
        try model.backward(r)
        let analytic = model.gradients
        var maxErr = 0.0, failures: [String] = []
        for i in sampleIndices(model.parameterCount, limit: 50) {
            let saved = model.parameters[i]
            model.parameters[i] = saved + fdEpsilon
            let lp = projectedLoss(try model.forward(input, training: true), r)
            model.parameters[i] = saved - fdEpsilon
            let lm = projectedLoss(try model.forward(input, training: true), r)
            model.parameters[i] = saved
            let numeric = (lp - lm) / Double(2 * fdEpsilon)
            let err = abs(numeric - Double(analytic[i]))
            maxErr = max(maxErr, err)
            if err > fdTolerance(numeric) { failures.append("\(i): \(analytic[i]) vs \(numeric)") }
        }
        return (maxErr, failures)
    }

    func testWholeModelFiniteDifferences() throws {
        for integrator in [Integrator.euler, .rk4] {
            let mlp = ResNetModel(spec: .mlp(inputs: 2, outputs: 2, width: 5, blocks: 2, h: 0.5, integrator: integrator), seed: 3)
            let (e1, f1) = try modelGradientCheck(mlp, input: randomTensor([3, 2], seed: 1))
            var spec = Self.tinyCNN
            spec.integrator = integrator
            let cnn = ResNetModel(spec: spec, seed: 3)
            let (e2, f2) = try modelGradientCheck(cnn, input: randomTensor([2, 2, 6, 5], seed: 2))
            print("whole model \(integrator) FD: MLP \(e1), CNN \(e2)")
            XCTAssertEqual(f1, [])
            XCTAssertEqual(f2, [])
        }
    }

    func testLayoutNamesForwardOrderAndGradientCallbackRanges() throws {
        let model = ResNetModel(spec: Self.tinyCNN, seed: 1)
        XCTAssertEqual(model.slots.first?.name, "groups.0.projection.conv.weight")
        XCTAssertEqual(model.slots.last?.name, "head.bias")
        XCTAssertNotNil(model.slot(named: "groups.1.blocks.1.conv2.weight"))
        XCTAssertNotNil(model.stateSlot(named: "groups.1.blocks.0.bn1.running_var"))
        // Slots tile the buffer in order.
        var offset = 0
        for slot in model.slots { XCTAssertEqual(slot.offset, offset); offset += slot.count }
        XCTAssertEqual(offset, model.parameterCount)
        XCTAssertEqual(model.gradients.count, model.parameterCount)

        _ = try model.forward(randomTensor([2, 2, 6, 5], seed: 4), training: true)
        var ready: [(start: Int, count: Int)] = []
        try model.backward(randomTensor([2, 3], seed: 5), onGradientsReady: { part in
            ready.append((Int(bitPattern: part.baseAddress), part.count))
            _ = part.reduce(0, +)   // the callback may read its part
        }, finish: {})
        // As ranges of the buffer: the last part starts it.
        let base = ready.map(\.start).min() ?? 0
        let ranges = ready.map { (($0.start - base) / MemoryLayout<Float>.stride) ..< (($0.start - base) / MemoryLayout<Float>.stride + $0.count) }
        XCTAssertEqual(ranges.count, 3)  // head, group 1, group 0
        XCTAssertEqual(ranges.first?.upperBound, model.parameterCount)
        XCTAssertEqual(ranges.last?.lowerBound, 0)
        for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(b.upperBound, a.lowerBound) }

        let mlp = ResNetModel(spec: .mlp(blocks: 2), seed: 1)
        XCTAssertEqual(mlp.slots.map(\.name), ["stem.weight", "stem.bias",
            "groups.0.blocks.0.fc1.weight", "groups.0.blocks.0.fc1.bias", "groups.0.blocks.0.fc2.weight",
            "groups.0.blocks.0.fc2.bias", "groups.0.blocks.1.fc1.weight", "groups.0.blocks.1.fc1.bias",
            "groups.0.blocks.1.fc2.weight", "groups.0.blocks.1.fc2.bias", "head.weight", "head.bias"])
        XCTAssertEqual(mlp.parameterCount, 2 * 32 + 2 * (2 * (32 * 32 + 32)) + 33)
    }

    func testMLPBlockComputesEulerUpdateByHand() throws {
        // One block, F(y) = W2 σ(W1 y + b1) + b2, checked against a hand loop.
        let model = ResNetModel(spec: .mlp(inputs: 1, outputs: 1, width: 3, blocks: 1, h: 0.7), seed: 5)
        let p = { (name: String) in model.parameter(named: name)! }
        let x: Float = 0.8
        let w0 = p("stem.weight"), b0 = p("stem.bias"), w1 = p("groups.0.blocks.0.fc1.weight")
        let b1 = p("groups.0.blocks.0.fc1.bias"), w2 = p("groups.0.blocks.0.fc2.weight")
        let b2 = p("groups.0.blocks.0.fc2.bias"), wh = p("head.weight"), bh = p("head.bias")
        var y0 = [Float](repeating: 0, count: 3), hidden = y0, y1 = y0
        for i in 0..<3 { y0[i] = w0[i] * x + b0[i] }
        for i in 0..<3 {
            var s = b1[i]
            for j in 0..<3 { s += w1[i * 3 + j] * y0[j] }
            hidden[i] = 1 / (1 + Foundation.exp(-s))
        }
        for i in 0..<3 {
            var s = b2[i]
            for j in 0..<3 { s += w2[i * 3 + j] * hidden[j] }
            y1[i] = y0[i] + 0.7 * s
        }
        var out = bh[0]
        for j in 0..<3 { out += wh[j] * y1[j] }
        let got = try model.forward(Tensor(shape: [1, 1], data: [x]), training: false)
        print("MLP Euler block vs hand loop: |diff| = \(abs(got.data[0] - out))")
        XCTAssertEqual(got.data[0], out, accuracy: 1e-5)
    }

    func testDeterministicConstruction() {
        for spec in [ModelSpec.mlp(), .fashionMNIST(), .cifar10(blocks: [2, 3, 5], integrator: .rk4)] {
            let a = ResNetModel(spec: spec, seed: 42), b = ResNetModel(spec: spec, seed: 42)
            XCTAssertEqual(a.parameters.map(\.bitPattern), b.parameters.map(\.bitPattern))
            XCTAssertEqual(a.state.map(\.bitPattern), b.state.map(\.bitPattern))
            XCTAssertNotEqual(a.parameters, ResNetModel(spec: spec, seed: 43).parameters)
        }
        // A fixed fingerprint: the generator and initialisers are pure integer/Float arithmetic,
        // so this value must be the same on every rank and platform.
        // The pooled network without an input layer (how specs written before those options read).
        let checksum = ResNetModel(spec: .fashionMNIST(inputLayer: false, head: .pool), seed: 42).checksum()
        print("fashionMNIST (pool, no input layer) seed 42 checksum: \(checksum)")
        XCTAssertEqual(checksum, ModelTests.goldenFashionChecksum)
        let current = ResNetModel(spec: .fashionMNIST(initialization: .pytorch), seed: 42).checksum()
        print("fashionMNIST (input layer, flatten, PyTorch init) seed 42 checksum: \(current)")
        XCTAssertEqual(current, ModelTests.goldenCurrentFashionChecksum)
    }
    static let goldenFashionChecksum: UInt64 = 10_249_511_818_760_777_956
    static let goldenCurrentFashionChecksum: UInt64 = 523_384_303_349_267_286

    func testSpecCodableRoundTripAndValidation() throws {
        let spec = ModelSpec.cifar10(blocks: [2, 3, 5], h: 0.25, integrator: .midpoint, activation: .relu)
        let data = try JSONEncoder().encode(spec)
        XCTAssertEqual(try JSONDecoder().decode(ModelSpec.self, from: data), spec)
        var bad = spec
        bad.blocks = [1]
        XCTAssertThrowsError(try bad.validate())
        XCTAssertThrowsError(try ResNetModel(spec: .mlp(), seed: 1).forward(Tensor(shape: [2, 3]), training: false))
    }

    /// A few Adam steps on a tiny CNN must lower the training loss (the pieces fit together).
    func testTrainingStepsReduceLoss() throws {
        let model = ResNetModel(spec: Self.tinyCNN, seed: 8)
        let adam = Adam(parameterCount: model.parameterCount)
        let x = randomTensor([6, 2, 6, 5], seed: 9)
        let labels = [0, 1, 2, 0, 1, 2]
        var losses: [Float] = []
        for _ in 0..<15 {
            let logits = try model.forward(x, training: true)
            let (loss, grad, _) = try softmaxCrossEntropy(logits: logits, labels: labels)
            losses.append(loss)
            model.zeroGradients()
            try model.backward(grad)
            adam.step(parameters: &model.parameters, gradients: model.gradients, learningRate: 0.01)
        }
        print("tiny CNN training losses: \(losses.first!) → \(losses.last!)")
        XCTAssertLessThan(losses.last!, 0.7 * losses.first!)
    }
}
