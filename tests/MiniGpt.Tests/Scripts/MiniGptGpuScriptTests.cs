using System.Diagnostics;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Scripts;

/// <summary>
/// scripts/minigpt-gpu.sh on a simulated GPU box: a stand-in Python prints what torch would report, and a
/// stand-in minigpt prints the library path and arguments it was started with.
/// </summary>
public sealed class MiniGptGpuScriptTests : IDisposable
{
    static readonly string Script = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "scripts", "minigpt-gpu.sh"));
    readonly TempDir dir = new();
    readonly string torchLib, cublas, nvjitlink;

    public MiniGptGpuScriptTests()
    {
        torchLib = Path.Combine(dir.Path, "site-packages", "torch", "lib");
        cublas = Path.Combine(dir.Path, "site-packages", "nvidia", "cublas", "lib");
        nvjitlink = Path.Combine(dir.Path, "site-packages", "nvidia", "nvjitlink", "lib");
        dir.File("site-packages/torch/lib/libtorch_cuda.so", "");
        Executable("python", "#!/usr/bin/env bash\ncat > /dev/null\n[[ -n \"$PROBE\" ]] || exit 1\nprintf '%s\\n' \"$PROBE\"\n");
        Executable("app/minigpt", "#!/usr/bin/env bash\necho \"LD_LIBRARY_PATH=$LD_LIBRARY_PATH\"\necho \"ARGS=$*\"\n");
    }

    public void Dispose() => dir.Dispose();

    void Executable(string name, string text) => File.SetUnixFileMode(dir.File(name, text),
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    string Probe(string version = "2.10.0+cu128", int abi = 1, int cuda = 1, bool cudaLibs = true)
        => $"version={version}\ncxx11_abi={abi}\ntorch_lib={torchLib}\ncuda={cuda}" + (cudaLibs ? $"\ncuda_libs={cublas}:{nvjitlink}" : "");

    (int Code, string Stdout, string Stderr) Run(string? probe, params (string, string)[] env)
    {
        var psi = new ProcessStartInfo("bash", [Script, "--app", Path.Combine(dir.Path, "app"), "train", "--config", "c.json"])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["PYTHON"] = Path.Combine(dir.Path, "python");
        psi.Environment["PROBE"] = probe ?? "";
        psi.Environment["LD_LIBRARY_PATH"] = "/usr/local/cuda/lib64";
        psi.Environment.Remove("MINIGPT_SKIP_TORCH_CHECK");
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var (stdout, stderr) = (p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync());
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void ABoxWithTorch210AndCuda_Starts_WithTheWheelsCudaLibrariesFirst()
    {
        var r = Run(Probe());
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal($"LD_LIBRARY_PATH={cublas}:{nvjitlink}:{torchLib}:/usr/local/cuda/lib64\nARGS=train --config c.json\n", r.Stdout);
    }

    [Theory]
    [InlineData("1.13.1+cu117", 1, "error: PyTorch 1.13.1+cu117 is installed; this MiniGpt needs libtorch 2.10 exactly (TorchSharp 0.107).")]
    [InlineData("2.1.0", 1, "error: PyTorch 2.1.0 is installed; this MiniGpt needs libtorch 2.10 exactly (TorchSharp 0.107).")]
    [InlineData("2.10.0", 0, "error: PyTorch 2.10.0 was built with the pre-C++11 ABI; TorchSharp needs a C++11-ABI libtorch.")]
    public void AnotherVersionOrAbi_IsRefused_WithTheCommandToFixIt(string version, int abi, string error)
    {
        var r = Run(Probe(version, abi));
        Assert.Equal(1, r.Code);
        Assert.Equal("", r.Stdout);
        Assert.StartsWith(error + "\n  Install ", r.Stderr);
        Assert.Contains("pip install 'torch==2.10.*'   (MINIGPT_SKIP_TORCH_CHECK=1 skips this check)", r.Stderr);
    }

    [Fact]
    public void TheVersionCheck_CanBeSkipped_ByThoseWhoKnowBetter()
        => Assert.Equal(0, Run(Probe("2.11.0"), ("MINIGPT_SKIP_TORCH_CHECK", "1")).Code);

    [Fact]
    public void NoCuda_OrNoTorch_IsNamed()
    {
        var noCuda = Run(Probe(cuda: 0, cudaLibs: false));
        Assert.Equal((1, ""), (noCuda.Code, noCuda.Stdout));
        Assert.StartsWith("error: torch.cuda.is_available() is False in ", noCuda.Stderr);
        var noTorch = Run(null);
        Assert.Equal(1, noTorch.Code);
        Assert.Contains("cannot import torch; install PyTorch 2.10 with CUDA", noTorch.Stderr);
    }

    [Fact]
    public void ACpuOnlyTorch_IsNamed()
    {
        File.Delete(Path.Combine(torchLib, "libtorch_cuda.so"));
        var r = Run(Probe());
        Assert.Equal(1, r.Code);
        Assert.StartsWith($"error: no CUDA libtorch in {torchLib} (libtorch_cuda.so is missing)", r.Stderr);
    }
}
