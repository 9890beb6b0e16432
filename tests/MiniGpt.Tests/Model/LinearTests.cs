using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class LinearTests
{
    static Linear Make(double[,] w, double[]? b)
    {
        var lin = new Linear(w.GetLength(1), w.GetLength(0), hasBias: b is not null).to(float64);
        using (no_grad())
        {
            lin.weight.copy_(T(w));
            lin.bias?.copy_(tensor(b!, dtype: float64));
        }
        return lin;
    }

    [Fact]
    public void WorkedExample_Section1()
    {
        var lin = Make(new double[,] { { 1, 0, 1 }, { 0, 1, 0 } }, [0.5, -0.5]);
        var y = lin.call(tensor(new double[] { 1, 2, 3 }));
        Close(tensor(new double[] { 4.5, 1.5 }), y, 1e-5);
    }

    [Fact]
    public void ChainRule_Section11_GradientOfHalfSquaredErrorIsOuterProduct()
    {
        // L = ½‖Wx − t‖² ⇒ ∂L/∂W = (y − t) xᵀ.
        var lin = Make(new double[,] { { 1, 0, 1 }, { 0, 1, 0 } }, null);
        var x = tensor(new double[] { 1, 2, 3 });
        var t = tensor(new double[] { 1, 1 });
        var y = lin.call(x);                                                  // [4, 2]
        (0.5 * (y - t).pow(2).sum()).backward();
        Close(T(new double[,] { { 3, 6, 9 }, { 1, 2, 3 } }), lin.weight.grad!, 1e-12);
    }

    [Fact]
    public void GradientCheck()
    {
        var lin = new Linear(3, 2, hasBias: true).to(float64);
        var x = GradCheck.Input(1, 4, 3);
        var err = GradCheck.MaxError(() => lin.call(x).pow(2).sum(), [x, lin.weight, lin.bias!]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }

    [Fact]
    public void Initialisation_IsGpt2_NormalWeightsAndZeroBias()
    {
        var lin = new Linear(512, 512, hasBias: true, std: 0.02, new Generator(5));
        Assert.InRange(lin.weight.std().item<float>(), 0.0195f, 0.0205f);
        Assert.InRange(lin.weight.mean().item<float>(), -0.0005f, 0.0005f);
        Assert.Equal(0f, lin.bias!.abs().sum().item<float>());
    }

    [Theory]
    [InlineData(384, 1152, true, 1, 1)]    // slices of W fill it exactly
    [InlineData(384, 1153, true, 2, 1)]    // one row of W is left over for F.linear
    [InlineData(512, 300, false, 3, 1)]    // three threads, three slices; no bias
    [InlineData(384, 1153, true, 2, 3)]    // three rows of x, one of W left over
    [InlineData(256, 768, true, 2, 4)]     // four rows of x
    public void SlicedRows_AreTheFormula_WithOrWithoutRowsOfWLeftOver(int dIn, int dOut, bool hasBias, int threads, int M)
    {
        var lin = new Linear(dIn, dOut, hasBias, std: 0.5, new Generator(3));
        if (hasBias) using (no_grad()) lin.bias!.normal_(0, 1, new Generator(4));
        var x = randn([M, 1, dIn], generator: new Generator(5));                     // (B, T, C): M rows
        int before = get_num_threads();
        set_num_threads(threads);
        try
        {
            using var _ = no_grad();
            var y = Linear.SlicedRows(x, lin.weight, lin.bias);                    // (M, 1, d_out)
            var expected = matmul(x.to(float64), lin.weight.to(float64).t());     // (M, 1, d_out), the formula in float64
            if (hasBias) expected += lin.bias!.to(float64);
            Assert.Equal([(long)M, 1, dOut], y.shape);
            double diff = MaxAbsDiff(expected, y), scale = expected.abs().max().item<double>();
            Assert.True(diff <= 1e-5 * scale, $"sliced product differs from x Wᵀ + b by {diff:E2} (largest |y| {scale:F1})");
        }
        finally { set_num_threads(before); }
    }

    [Fact]
    public void Forward_SlicesAFewRows_WithoutAutograd_WhenAsked()
    {
        var lin = new Linear(384, 1152, hasBias: true, generator: new Generator(3));
        var row = randn([1, 1, 384], generator: new Generator(5));                   // (1, 1, C)
        var four = randn([2, 2, 384], generator: new Generator(6));                  // (2, 2, C): as many rows as are sliced
        var five = randn([5, 1, 384], generator: new Generator(7));                  // (5, 1, C): one too many
        using (no_grad())
            Assert.True(Identical(nn.functional.linear(row, lin.weight, lin.bias), lin.call(row)), "not asked: one F.linear");
        lin.SliceRows = true;
        using (no_grad())
        {
            Assert.True(Identical(Linear.SlicedRows(row, lin.weight, lin.bias), lin.call(row)), "one row without autograd is sliced");
            Assert.True(Identical(Linear.SlicedRows(four, lin.weight, lin.bias), lin.call(four)), "so are four");
            Assert.True(Identical(nn.functional.linear(five, lin.weight, lin.bias), lin.call(five)), "five rows are one F.linear");
        }
        // Training keeps F.linear, whose backward is the one tested by the gradient check above.
        Assert.True(Identical(nn.functional.linear(row, lin.weight, lin.bias), lin.call(row)), "with autograd, one row is F.linear");
    }
}
