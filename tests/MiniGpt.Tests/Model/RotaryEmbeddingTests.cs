using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class RotaryEmbeddingTests
{
    [Fact]
    public void HandComputedCase_RotatesEachPairByPositionTimesFrequency()
    {
        // hs = 4: θ = [1, 10000^(−1/2) = 0.01]. Position 1 rotates (x₀, x₂) by 1 rad and (x₁, x₃) by 0.01 rad.
        var rope = new RotaryEmbedding(4, 3);
        var x = T(new double[] { 1, 1, 0, 0, 1, 1, 0, 0 }, 1, 1, 2, 4);           // positions 0 and 1
        var y = rope.call(x, 0);
        var expected = T(new double[]
        {
            1, 1, 0, 0,                                                          // position 0: unchanged
            Math.Cos(1), Math.Cos(0.01), Math.Sin(1), Math.Sin(0.01),           // [0.540302, 0.99995, 0.841471, 0.0099998]
        }, 1, 1, 2, 4);
        Close(expected, y, 1e-6);
        Close(expected.narrow(2, 1, 1), rope.call(x.narrow(2, 1, 1), 1), 1e-6);   // the same row at start 1
    }

    [Fact]
    public void DotProduct_DependsOnlyOnRelativePosition_AndNormsAreKept()
    {
        var rope = new RotaryEmbedding(8, 16);
        var q = GradCheck.Input(1, 1, 1, 1, 8).detach();
        var k = GradCheck.Input(2, 1, 1, 1, 8).detach();
        double Score(long m, long n) => (rope.call(q, m) * rope.call(k, n)).sum().item<double>();
        Assert.Equal(Score(3, 1), Score(12, 10), 5);
        Assert.Equal(Score(0, 0), Score(9, 9), 5);
        Assert.NotEqual(Score(3, 1), Score(3, 2), 3);
        Close(q.norm(), rope.call(q, 7).norm(), 1e-6);
    }

    [Fact]
    public void GradientCheck()
    {
        var rope = new RotaryEmbedding(4, 6).to(float64);
        var x = GradCheck.Input(3, 1, 2, 3, 4);
        var err = GradCheck.MaxError(() => rope.call(x, 2).pow(3).sum(), [x]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }

    [Fact]
    public void OddHeadSize_IsRejected() => Assert.Throws<ArgumentException>(() => new RotaryEmbedding(3, 4));

    // The meta device has no data, so a table left on the CPU shows up as a device mismatch, as it would on CUDA.
    [Fact]
    public void CosAndSinTablesMoveWithTheModule()
    {
        var meta = new Device(DeviceType.META);
        var rope = new RotaryEmbedding(4, 8);
        rope.to(meta);
        Assert.Equal(DeviceType.META, rope.call(zeros([1, 2, 3, 4], device: meta), 1).device_type);
    }

    [Fact]
    public void TablesGrowToThePositionsReached_WithTheFormulasValues()
    {
        var rope = new RotaryEmbedding(4, 1 << 20);
        Assert.Equal(256, rope.Rows);   // not 2^20 rows for a sample of a few tokens
        var x = T(new double[] { 1, 1, 0, 0 }, 1, 1, 1, 4);
        var y = rope.call(x, 1000);
        Assert.Equal(1001, rope.Rows);
        // θ = [1, 0.01]: position 1000 rotates (x₀, x₂) by 1000 rad and (x₁, x₃) by 10 rad.
        Close(T(new[] { Math.Cos(1000), Math.Cos(10), Math.Sin(1000), Math.Sin(10) }, 1, 1, 1, 4), y, 1e-6);
        rope.call(x, 1100);
        Assert.Equal(2002, rope.Rows);   // twice as many, not one more at a time
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.call(x, 1 << 20));
    }

    [Fact]
    public void TablesGrownWhileSampling_OutliveTheStep_AndServeTraining()
    {
        var rope = new RotaryEmbedding(4, 1024);
        using (NewDisposeScope())
        using (inference_mode())
            rope.call(zeros(1, 1, 1, 4), 600);   // a sampling step: a dispose scope, inference mode
        var x = ones([1, 1, 2, 4], requires_grad: true);   // float32, the tables' own dtype: no cast makes a normal copy
        rope.call(x, 500).pow(2).sum().backward();   // within the rows grown: inference tensors cannot be saved for backward
        Assert.NotNull(x.grad);
    }

    [Fact]
    public void TablesGrowOnTheModulesDevice()
    {
        var meta = new Device(DeviceType.META);
        var rope = new RotaryEmbedding(4, 1024);
        rope.to(meta);
        Assert.Equal(DeviceType.META, rope.call(zeros([1, 2, 3, 4], device: meta), 500).device_type);
    }
}
