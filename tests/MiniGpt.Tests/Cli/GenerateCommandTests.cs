using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Cli;

public class GenerateCommandTests
{
    static string TrainedCheckpoint(TempDir dir)
    {
        var c = TinyRun.Config(dir) with { MaxIters = 5 };
        using (var t = new Trainer(c)) t.Run();
        return c.OutDir;
    }

    [Fact]
    public void Generate_StreamsTheRequestedTokens_SameSeedSameText()
    {
        using var dir = new TempDir();
        var ckpt = TrainedCheckpoint(dir);
        var a = CliProcess.Run(dir.Path, "generate", "--checkpoint", ckpt, "--prompt", "the ", "--max-new-tokens", "30", "--seed", "3", "--device", "cpu");
        var b = CliProcess.Run(dir.Path, "generate", "--checkpoint", ckpt, "--prompt", "the ", "--max-new-tokens", "30", "--seed", "3", "--device", "cpu", "--no-kv-cache");
        Assert.True(a.Code == 0, a.Stderr);
        Assert.StartsWith("the ", a.Stdout);
        Assert.Equal("the ".Length + 30 + 1, a.Stdout.Length);   // char model: one character per token, then a newline
        Assert.Equal(a.Stdout, b.Stdout);
        Assert.Contains("tokens/s", a.Stderr);
        Assert.Contains("first token after", a.Stderr);
    }

    /// <summary>
    /// <c>minigpt generate --checkpoint CKPT ARGS | CONSUMER</c> in bash, given 120 s; whether it ended, and its output
    /// (the consumer's stdout, then the pipeline's first exit status) and minigpt's stderr.
    /// </summary>
    static (bool Exited, string Stdout, string Stderr) Piped(string ckpt, string args, string consumer)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", $"\"$0\" \"$1\" generate --checkpoint \"$2\" {args} --device cpu | {consumer}; echo \" ${{PIPESTATUS[0]}}\"",
                                  host, Path.Combine(AppContext.BaseDirectory, "minigpt.dll"), ckpt })
            psi.ArgumentList.Add(a);
        using var shell = System.Diagnostics.Process.Start(psi)!;
        var stdout = shell.StandardOutput.ReadToEndAsync();
        var stderr = shell.StandardError.ReadToEndAsync();
        bool exited = shell.WaitForExit(TimeSpan.FromSeconds(120));
        if (!exited) shell.Kill(entireProcessTree: true);
        return (exited, stdout.Result, stderr.Result);
    }

    [Fact]
    public void AClosedStandardOutput_IsNamed()
    {
        // .NET's first write to it said "Access to the path is denied", naming no path.
        using var dir = new TempDir();
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", "\"$0\" \"$1\" runs \"$2\" >&-; echo \" $?\"", host, Path.Combine(AppContext.BaseDirectory, "minigpt.dll"), dir.Path })
            psi.ArgumentList.Add(a);
        using var shell = System.Diagnostics.Process.Start(psi)!;
        var (stdout, stderr) = (shell.StandardOutput.ReadToEndAsync(), shell.StandardError.ReadToEndAsync());
        Assert.True(shell.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal((" 1\n", "error: standard output is closed or not writable: give minigpt somewhere to write (> FILE, or > /dev/null)\n"), (stdout.Result, stderr.Result));
    }

    [Fact]
    public void Generate_StopsWhenNoOneReadsItsOutput()
    {
        // .NET's console takes a broken pipe for success: generate | head went on sampling a million tokens for no one.
        using var dir = new TempDir();
        var (exited, stdout, stderr) = Piped(TrainedCheckpoint(dir), "--max-new-tokens 100000000", "head -c 20");   // 10^8 tokens take hours
        Assert.True(exited, "generate went on after head had closed its output");
        Assert.EndsWith(" 0\n", stdout);                      // and it ended well, as head asked nothing more of it
        Assert.Matches(@"\[sample: \d+ tokens in ", stderr);
    }

    [Fact]
    public void Generate_WhoseReaderIsGoneBeforeItBegins_StillSaysTheCacheWasOn()
    {
        // The summary read "KV cache off" (no --no-kv-cache given) when no batch had run to size the cache.
        using var dir = new TempDir();
        var (exited, _, stderr) = Piped(TrainedCheckpoint(dir), "--max-new-tokens 5 --num-samples 3", "true");
        Assert.True(exited);
        Assert.EndsWith("KV cache on]\n", stderr);
    }

    [Fact]
    public void NumSamples_RunAsOneBatch_EachTheSampleItsSeedGivesAlone()
    {
        using var dir = new TempDir();
        var ckpt = TrainedCheckpoint(dir);
        string[] Args(int n, int seed) => ["generate", "--checkpoint", ckpt, "--prompt", "the ", "--max-new-tokens", "40", "--seed", $"{seed}", "--num-samples", $"{n}", "--temperature", "1.0", "--device", "cpu"];
        var batch = CliProcess.Run(dir.Path, Args(3, 10));
        Assert.True(batch.Code == 0, batch.Stderr);
        var samples = batch.Stdout.TrimEnd('\n').Split("\n---------------\n");
        Assert.Equal(3, samples.Length);
        for (int i = 0; i < 3; i++)
        {
            var alone = CliProcess.Run(dir.Path, Args(1, 10 + i));
            Assert.Equal(alone.Stdout.TrimEnd('\n'), samples[i].TrimEnd('\n'));
        }
        Assert.Equal(3, samples.Distinct().Count());
        Assert.Contains("3 samples in one batch: 40 tokens each", batch.Stderr);
        // More than one batch holds: the 18th sample, in the second batch of 16, is still the one seed 10 + 17 gives.
        var many = CliProcess.Run(dir.Path, Args(18, 10));
        Assert.True(many.Code == 0, many.Stderr);
        var all = many.Stdout.TrimEnd('\n').Split("\n---------------\n");
        Assert.Equal(18, all.Length);
        Assert.Equal(samples[1].TrimEnd('\n'), all[1].TrimEnd('\n'));
        Assert.Equal(CliProcess.Run(dir.Path, Args(1, 27)).Stdout.TrimEnd('\n'), all[17].TrimEnd('\n'));
        Assert.Contains("18 samples in batches of 16: 40 tokens each", many.Stderr);
    }

    [Fact]
    public void BadInput_ExitsNonZero_NamingTheProblem()
    {
        using var dir = new TempDir();
        var ckpt = TrainedCheckpoint(dir);
        var unknown = CliProcess.Run(dir.Path, "generate", "--checkpoint", ckpt, "--prompt", "QZ日", "--device", "cpu");
        Assert.Equal(1, unknown.Code);
        Assert.Contains("'Q' 'Z' '日'", unknown.Stderr);
        var missing = CliProcess.Run(dir.Path, "generate", "--checkpoint", Path.Combine(dir.Path, "nope"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("nope", missing.Stderr);
        var zeros = CliProcess.Run(dir.Path, "generate", "--checkpoint", ckpt, "--prompt-file", "/dev/zero");
        Assert.Equal((1, "error: /dev/zero: more than 16,777,216 characters, more than a prompt file may have\n"), (zeros.Code, zeros.Stderr));
        var file = CliProcess.Run(dir.Path, "generate", "--checkpoint", ckpt, "--prompt-file", "absent.txt");
        Assert.Equal(1, file.Code);
        Assert.Contains("absent.txt", file.Stderr);
        var folder = CliProcess.Run(dir.Path, "generate", "--checkpoint", ckpt, "--prompt-file", dir.Path);   // was "not found"
        Assert.Equal((1, $"error: prompt file {dir.Path} is a folder, not a file\n"), (folder.Code, folder.Stderr));
        foreach (var (flag, value, error) in new[]
                 {
                     ("--temperature", "-1", "--temperature -1: must be a finite number ≥ 0"), ("--top-p", "1.5", "--top-p 1.5: must be in (0, 1]"),
                     ("--top-k", "0", "--top-k 0: must be ≥ 1"), ("--max-new-tokens", "-3", "--max-new-tokens -3: must be ≥ 0"),
                     ("--num-samples", "0", "--num-samples 0: must be in [1, 100,000]"),
                     ("--num-samples", "2147483647", "--num-samples 2147483647: must be in [1, 100,000]"),   // was out of memory, an internal error
                 })
        {
            var r = CliProcess.Run(dir.Path, "generate", "--checkpoint", ckpt, flag, value);
            Assert.Equal(2, r.Code);
            Assert.Equal($"error: {error}\n", r.Stderr);
        }
    }
}
