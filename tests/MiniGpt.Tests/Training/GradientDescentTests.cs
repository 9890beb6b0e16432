using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Training;

public class GradientDescentTests
{
    [Fact]
    public void WorkedExample_Section12()
    {
        // L = θ², θ = 3, η = 0.1: gradient 6, new θ = 2.4.
        var theta = nn.Parameter(tensor(new[] { 3.0 }, dtype: float64));
        using var flat = new FlatParameters([("theta", theta)]);
        (theta * theta).sum().backward();
        Assert.Equal(6.0, flat.Grad[0].item<double>(), 12);
        new GradientDescent(flat).StepWith(0.1);
        Assert.Equal(2.4, theta[0].item<double>(), 12);
    }
}
