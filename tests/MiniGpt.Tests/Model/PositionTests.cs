using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class PositionTests
{
    [Fact]
    public void Sinusoidal_WorkedExample_Section2()
    {
        var pe = SinusoidalPositionalEncoding.Table(2, 4, float64);
        Close(tensor(new[] { 0.841471, 0.540302, 0.0099998, 0.99995 }), pe[1], 1e-5);
        Close(tensor(new[] { 0.0, 1.0, 0.0, 1.0 }), pe[0], 1e-12);
    }

    [Fact]
    public void Sinusoidal_TableMadeInSlices_IsTheFormulaInFloat64_RoundedOnce()
    {
        // 100 positions of width 6 in slices of 7 rows (42 values): every slice boundary, and an odd last slice.
        var pe = SinusoidalPositionalEncoding.Table(100, 6, float32, chunkElements: 42);
        var expected = new float[100 * 6];
        for (int pos = 0; pos < 100; pos++)
            for (int i = 0; i < 3; i++)
            {
                double angle = pos / Math.Pow(10000.0, 2.0 * i / 6);
                (expected[pos * 6 + 2 * i], expected[pos * 6 + 2 * i + 1]) = ((float)Math.Sin(angle), (float)Math.Cos(angle));
            }
        var got = pe.data<float>().ToArray();
        double worst = expected.Zip(got).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 1e-6, $"largest difference {worst:E2}");
        Assert.True(Identical(SinusoidalPositionalEncoding.Table(100, 6, float64).to(float32), pe));
    }

    [Fact]
    public void Sinusoidal_ModuleReturnsTheRowsAskedFor_AndHasNoParameters()
    {
        var module = new SinusoidalPositionalEncoding(8, 6);
        Assert.Empty(module.parameters());
        Close(SinusoidalPositionalEncoding.Table(8, 6, float64).narrow(0, 3, 2), module.call(3, 2), 1e-6);
        Assert.Throws<ArgumentOutOfRangeException>(() => module.call(5, 4));
    }

    [Fact]
    public void Learned_ReturnsRowsOfItsTable_AndGradientsReachOnlyThoseRows()
    {
        var module = new LearnedPositionEmbedding(5, 3, new Generator(1)).to(float64);
        var rows = module.call(2, 2);                                           // positions 2, 3
        Close(module.weight.narrow(0, 2, 2), rows, 0);
        rows.sum().backward();
        var expected = zeros(5, 3, dtype: float64);
        expected.narrow(0, 2, 2).fill_(1);
        Close(expected, module.weight.grad!, 0);
    }

    [Fact]
    public void Learned_GradientCheck()
    {
        var module = new LearnedPositionEmbedding(4, 3, new Generator(1)).to(float64);
        var err = GradCheck.MaxError(() => module.call(1, 3).pow(3).sum(), [module.weight]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }

    [Fact]
    public void TokenEmbedding_LooksUpRows_AndUnembedIsTheTransposedProduct()
    {
        var emb = new TokenEmbedding(4, 2).to(float64);
        using (no_grad()) emb.weight.copy_(T(new double[,] { { 1, 2 }, { 3, 4 }, { 5, 6 }, { 7, 8 } }));
        var x = emb.call(tensor(new long[,] { { 2, 0 } }));                    // (1, 2, 2)
        Close(T(new double[] { 5, 6, 1, 2 }, 1, 2, 2), x, 0);
        var logits = emb.Unembed(T(new double[] { 1, 0 }, 1, 1, 2));           // row · E[v] for each v
        Close(T(new double[] { 1, 3, 5, 7 }, 1, 1, 4), logits, 0);
        var err = GradCheck.MaxError(() => emb.Unembed(emb.call(tensor(new long[,] { { 1, 3 } }))).pow(2).sum(), [emb.weight]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }

    // The meta device has no data, so a table left on the CPU shows up as a device mismatch, as it would on CUDA.
    [Fact]
    public void Sinusoidal_TableMovesWithTheModule()
    {
        var meta = new Device(DeviceType.META);
        var pe = new SinusoidalPositionalEncoding(8, 4);
        pe.to(meta);
        var x = zeros([1, 3, 4], device: meta);
        Assert.Equal(DeviceType.META, (x + pe.call(2, 3)).device_type);
    }

    [Fact]
    public void Sinusoidal_TableGrowsToThePositionsReached_OnTheModulesDevice_OutsideASamplingStep()
    {
        var module = new SinusoidalPositionalEncoding(1 << 20, 6);
        Assert.Equal(256, module.Rows);   // not a table of 2^20 rows for a sample of a few tokens
        using (NewDisposeScope())
        using (inference_mode())
            Close(SinusoidalPositionalEncoding.Table(3002, 6, float64).narrow(0, 3000, 2), module.call(3000, 2), 1e-6);
        Assert.Equal(3002, module.Rows);
        Close(SinusoidalPositionalEncoding.Table(3002, 6, float64).narrow(0, 2999, 3), module.call(2999, 3), 1e-6);
        var meta = new Device(DeviceType.META);
        module.to(meta);
        Assert.Equal(DeviceType.META, module.call(6000, 1).device_type);
        Assert.Equal(6004, module.Rows);
    }
}
