using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace MiniGpt.Tests.Build;

/// <summary>
/// The build marks libLibTorchSharp.so's GLIBCXX_3.4.32 requirement weak in its own output when the
/// system's libstdc++ lacks that version (build/WeakenGlibcxxRequirement.cs), and only then; the NuGet
/// cache's copy is never edited. Checked with binutils' readelf, independently of the build's own parser.
/// </summary>
public class NativeLibraryTests
{
    const string Version = "GLIBCXX_3.4.32";

    static string? Flags(string library)
    {
        var psi = new ProcessStartInfo("readelf", ["-V", "-W", library]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var m = Regex.Match(text, $@"Name: {Regex.Escape(Version)}\s+Flags: (\w+)");
        return m.Success ? m.Groups[1].Value : null;
    }

    static bool SystemHasVersion()
    {
        var lib = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }
            .First(File.Exists);
        var hay = File.ReadAllBytes(lib);
        var needle = Encoding.ASCII.GetBytes(Version + "\0");
        return hay.AsSpan().IndexOf(needle) >= 0;
    }

    static void RequireReadelf() => Assert.True(File.Exists("/usr/bin/readelf"), "this check needs binutils' readelf: apt-get install binutils");

    [Fact]
    public void OutputCopy_IsWeakExactlyWhenTheSystemLacksTheVersion()
    {
        if (!OperatingSystem.IsLinux()) return;   // the fix applies to Linux builds only
        RequireReadelf();
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), $"{output} is missing");
        Assert.Equal(SystemHasVersion() ? "none" : "WEAK", Flags(output));
    }

    [Fact]
    public void NuGetCacheCopy_IsUntouched()
    {
        if (!OperatingSystem.IsLinux()) return;
        RequireReadelf();
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cached = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cached), $"{cached} is missing");
        Assert.Equal("none", Flags(cached));
    }

    [Fact]
    public void APublishedBuild_IsWeakenedAlways_ABuildOnlyWhereTheSystemNeedsIt()
    {
        // The targets themselves, run by MSBuild on copies of the shipped library, judged against a libstdc++
        // that has the version: a build output is left alone, a publish output (which travels) is weakened.
        if (!OperatingSystem.IsLinux()) return;
        RequireReadelf();
        using var dir = new TestSupport.TempDir();
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var shipped = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var built = dir.File("out/runtimes/linux-x64/native/libLibTorchSharp.so");
        var published = dir.File("pub/runtimes/linux-x64/native/libLibTorchSharp.so");
        File.Copy(shipped, built);
        File.Copy(shipped, published);
        var newLibStdCpp = dir.File("libstdc++.so.6");
        File.WriteAllBytes(newLibStdCpp, [.. Encoding.ASCII.GetBytes("GLIBCXX_3.4.30\0" + Version + "\0")]);
        var targets = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "build", "WeakenGlibcxx.targets"));
        var project = dir.File("weaken.proj", $"""
            <Project>
              <PropertyGroup>
                <UsesTorchNative>true</UsesTorchNative>
                <OutDir>{dir.Path}/out/</OutDir>
                <PublishDir>{dir.Path}/pub/</PublishDir>
                <WeakenSystemLibStdCpp>{newLibStdCpp}</WeakenSystemLibStdCpp>
              </PropertyGroup>
              <Import Project="{targets}" />
              <Target Name="Both" DependsOnTargets="WeakenLibTorchSharpInOutput;WeakenLibTorchSharpInPublish" />
            </Project>
            """);
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", ["msbuild", project, "-t:Both", "-nologo", "-v:m"])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var log = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, log);
        Assert.Equal("none", Flags(built));
        Assert.Equal("WEAK", Flags(published));
    }
}
