using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Training;

public class ComputeCopyTests
{
    /// <summary>A bf16 model whose layers cast their weights (copy: false) or read one ComputeCopy (copy: true).</summary>
    sealed class Setup : IDisposable
    {
        public readonly Gpt Model = new(SmallGpt.Config, seed: 5);
        public readonly FlatParameters Flat;
        public readonly AdamW Opt;
        public readonly ComputeCopy? Copy;
        public readonly TrainingStep Step;

        public Setup(bool copy, int accumulation)
        {
            Model.UseComputeDtype(ScalarType.BFloat16);
            Flat = new FlatParameters(Model.UniqueParameters());
            if (copy)
            {
                Copy = new ComputeCopy(Flat, ScalarType.BFloat16);
                Model.UseComputeWeights(Copy.ViewOf);
            }
            Opt = new AdamW(Flat, weightDecay: 0.1);
            Step = new TrainingStep(Model, Flat, Opt, accumulation, 1.0, CPU, Copy);
        }

        public void Dispose() { Copy?.Dispose(); Opt.Dispose(); Flat.Dispose(); Model.Dispose(); }
    }

    static float MaxAbs(Tensor a, Tensor b) => (a.to(float32) - b.to(float32)).abs().max().item<float>();

    [Fact]
    public void Steps_EqualCastingInEachLayer_BitForBit()
    {
        using var cast = new Setup(copy: false, accumulation: 1);
        using var copy = new Setup(copy: true, accumulation: 1);
        for (int i = 0; i < 3; i++)
        {
            long seed = 10 + i;
            var (lossCast, normCast) = cast.Step.Run(() => SmallGpt.Batch(seed), 1e-2, i);
            var (lossCopy, normCopy) = copy.Step.Run(() => SmallGpt.Batch(seed), 1e-2, i);
            Assert.Equal(lossCast.item<float>(), lossCopy.item<float>());   // step 2 and 3 also prove the refresh after each update
            Assert.Equal(normCast.item<float>(), normCopy.item<float>());
            Assert.True(cast.Flat.Data.equal(copy.Flat.Data).all().item<bool>(), $"weights differ by {MaxAbs(cast.Flat.Data, copy.Flat.Data)} after step {i}");
        }
        Assert.Equal(0, copy.Copy!.Grad.to(float32).abs().sum().item<float>());      // flushed: nothing accumulates in bf16
    }

    [Fact]
    public void GradientAccumulation_StaysFloat32_AndMatchesCastingInEachLayer()
    {
        // With two micro-batches the tied embedding's two contributions are added in another order, so compare
        // to within float32 rounding rather than bit for bit.
        using var cast = new Setup(copy: false, accumulation: 2);
        using var copy = new Setup(copy: true, accumulation: 2);
        int calls = 0;
        (Tensor, Tensor) Next() => SmallGpt.Batch(20 + calls++ % 2);
        cast.Step.Run(Next, 1e-2, 0);
        copy.Step.Run(Next, 1e-2, 0);
        var scale = cast.Flat.Data.abs().max().item<float>();
        Assert.True(MaxAbs(cast.Flat.Data, copy.Flat.Data) <= 1e-6 * scale, $"weights differ by {MaxAbs(cast.Flat.Data, copy.Flat.Data)}");
        Assert.False(cast.Flat.Data.equal(new Setup(false, 1).Flat.Data).all().item<bool>(), "the step should have moved the weights");
    }

    [Fact]
    public void MatricesGetCopies_VectorsStayFloat32()
    {
        using var s = new Setup(copy: true, accumulation: 1);
        foreach (var (name, p) in s.Model.UniqueParameters())
        {
            var view = s.Copy!.ViewOf(p);
            if (p.dim() < 2) { Assert.Null(view); continue; }
            Assert.NotNull(view);
            Assert.Equal(ScalarType.BFloat16, view!.dtype);
            Assert.True(view.equal(p.to(ScalarType.BFloat16)).all().item<bool>(), $"{name}: the copy is not cast(θ)");
        }
        Assert.Equal(s.Flat.MatrixCount, s.Copy!.Data.shape[0]);
        Assert.Equal(ScalarType.Float32, s.Flat.Data.dtype);
    }

    [Fact]
    public void Refresh_PicksUpWeightsLoadedIntoTheFlatBuffer()
    {
        using var s = new Setup(copy: true, accumulation: 1);
        var (x, _) = SmallGpt.Batch(30);
        using (no_grad()) s.Flat.Data.mul_(0.5);                                   // as a checkpoint load would
        var stale = s.Model.call(x).detach();
        s.Copy!.Refresh();
        var fresh = s.Model.call(x).detach();
        using var reference = new Gpt(SmallGpt.Config, seed: 5);
        reference.UseComputeDtype(ScalarType.BFloat16);
        using (no_grad()) foreach (var (_, p) in reference.UniqueParameters()) p.mul_(0.5);
        var expected = reference.call(x).detach();
        Assert.True(fresh.equal(expected).all().item<bool>(), $"refreshed output differs by {MaxAbs(fresh, expected)}");
        Assert.False(stale.equal(expected).all().item<bool>(), "before the refresh the matrices should still be the old ones");
    }
}
