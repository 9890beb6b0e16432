using MiniGpt.Cli.Commands;

namespace MiniGpt.Tests.Cli;

public class NvidiaSmiTests
{
    [Fact]
    public void Memory_IsThisProcessesRows_NotTheWholeGpus()
    {
        const string csv = "4242, 1024\n77, 50000\n4242, 512\n";   // pid, MiB: this process on two GPUs, another process beside it
        Assert.Equal((1024L + 512) * 1024 * 1024, NvidiaSmi.MemoryOf(csv, 4242));
        Assert.Null(NvidiaSmi.MemoryOf(csv, 5));
        Assert.Null(NvidiaSmi.MemoryOf("No running processes found\n", 4242));
    }

    [Theory]
    [InlineData("NVIDIA H100 PCIe", 756e12, "H100 PCIe")]
    [InlineData("NVIDIA H100 80GB HBM3", 989e12, "H100")]
    [InlineData("NVIDIA A100-SXM4-80GB", 312e12, "A100")]
    [InlineData("NVIDIA A10G", 70e12, "A10G")]
    public void Peak_FollowsTheGpuModel(string name, double peak, string model) => Assert.Equal((peak, model), NvidiaSmi.PeakFor(name));

    [Fact]
    public void AnUnknownGpu_HasNoPeak() => Assert.Null(NvidiaSmi.PeakFor("NVIDIA GeForce GT 710"));
}
