import XCTest
@testable import ResNetCore

/// The FLOPs the benchmarks divide by, against sums written out by hand for one small network.
final class ModelFlopsTests: XCTestCase {
    func testFashionNetworkFlopsByHand() {
        // Input layer 1→16 (3×3, 28×28), group 0: projection 16→16 + one block of two 16→16
        // convolutions at 28×28; group 1: projection 16→32 stride 2 + one block of two 32→32
        // at 14×14; head 32·14·14 → 10.
        let stem = 2.0 * 16 * 1 * 9 * 784, conv16 = 2.0 * 16 * 16 * 9 * 784
        let projection1 = 2.0 * 32 * 16 * 9 * 196, conv32 = 2.0 * 32 * 32 * 9 * 196, head = 2.0 * 6272 * 10
        XCTAssertEqual(stem + conv16 + projection1 + head + 2 * conv16 + 2 * conv32, 20_220_928)
        for (integrator, stages) in [(Integrator.euler, 1.0), (.midpoint, 2.0), (.rk4, 4.0)] {
            let model = ResNetModel(spec: .fashionMNIST(blocks: [1, 1], integrator: integrator), seed: 1)
            // Forward: every convolution once per stage; backward: dW and dX (2×) except the
            // input layer (dW only), the head 2×.
            let forward = stem + conv16 + projection1 + head + stages * (2 * conv16 + 2 * conv32)
            let backward = stem + 2 * conv16 + 2 * projection1 + 2 * head + stages * (4 * conv16 + 4 * conv32)
            XCTAssertEqual(model.forwardFlopsPerSample(), forward, "\(integrator)")
            XCTAssertEqual(model.flopsPerSample(), forward + backward, "\(integrator)")
        }
        XCTAssertEqual(ResNetModel(spec: .fashionMNIST(blocks: [1, 1]), seed: 1).flopsPerSample(), 60_436_992)
    }

    func testMLPFlopsByHand() {
        // 1 → 32 stem, two blocks of two 32×32 layers, 32 → 1 head.
        let model = ResNetModel(spec: .mlp(blocks: 2), seed: 1)
        let stem = 2.0 * 32, layer = 2.0 * 32 * 32, head = 2.0 * 32
        XCTAssertEqual(model.forwardFlopsPerSample(), stem + 4 * layer + head)
        XCTAssertEqual(model.flopsPerSample(), 2 * stem + 12 * layer + 3 * head)
    }
}
