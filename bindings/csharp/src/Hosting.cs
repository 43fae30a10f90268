#nullable enable
using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SFTPKit
{
    /// <summary>
    /// Runs an <see cref="SFTPServer"/> inside a .NET host (Generic Host, ASP.NET Core): started with
    /// the host, stopped when it shuts down. Registered by <see cref="SftpServiceCollectionExtensions.AddSftpServer(IServiceCollection, Action{IServiceProvider, SFTPServer})"/>.
    /// </summary>
    public sealed class SftpServerHostedService : IHostedService, IAsyncDisposable
    {
        private readonly SFTPServer _server;

        /// <summary>Hosts <paramref name="server"/> (the container owns and disposes it).</summary>
        public SftpServerHostedService(SFTPServer server)
        {
            _server = server ?? throw new ArgumentNullException(nameof(server));
        }

        /// <summary>The hosted server.</summary>
        public SFTPServer Server => _server;

        /// <summary>Starts listening; a failure (port in use, no host key) fails the host's start.</summary>
        public Task StartAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _server.Start();
            return Task.CompletedTask;
        }

        /// <summary>
        /// Stops the server: closes every connection and joins the server's threads, off the host's
        /// thread. When the host's shutdown timeout fires first, the stop goes on in the background
        /// and the host is not held up.
        /// </summary>
        public Task StopAsync(CancellationToken cancellationToken) =>
            _server.IsDisposed ? Task.CompletedTask : _server.StopAsync().WaitAsync(cancellationToken);

        /// <summary>Disposes the server (also done by the container that created it).</summary>
        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }

    /// <summary>Registration of an SFTP server in a service collection.</summary>
    public static class SftpServiceCollectionExtensions
    {
        /// <summary>
        /// Adds an <see cref="SFTPServer"/> singleton, configured by <paramref name="configure"/>
        /// (host, port, host key, users, events, <see cref="SFTPServer.UseFileSystem(Func{SftpSession, ISftpFileSystem})"/>),
        /// with its <see cref="SFTPServer.Logger"/> set from the container's ILoggerFactory (category
        /// "SFTPKit.SFTPServer") when there is one, and an <see cref="SftpServerHostedService"/> that
        /// starts and stops it with the host.
        /// </summary>
        public static IServiceCollection AddSftpServer(this IServiceCollection services,
            Action<IServiceProvider, SFTPServer> configure)
        {
            if (services == null)
                throw new ArgumentNullException(nameof(services));
            if (configure == null)
                throw new ArgumentNullException(nameof(configure));
            services.TryAddSingleton(sp =>
            {
                var server = new SFTPServer();
                try
                {
                    if (sp.GetService<ILoggerFactory>() is ILoggerFactory factory)
                        server.Logger = factory.CreateLogger<SFTPServer>();
                    configure(sp, server);
                    return server;
                }
                catch
                {
                    server.Dispose();
                    throw;
                }
            });
            services.AddSingleton<SftpServerHostedService>();
            services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<SftpServerHostedService>());
            return services;
        }

        /// <summary><see cref="AddSftpServer(IServiceCollection, Action{IServiceProvider, SFTPServer})"/> without the provider.</summary>
        public static IServiceCollection AddSftpServer(this IServiceCollection services, Action<SFTPServer> configure)
        {
            if (configure == null)
                throw new ArgumentNullException(nameof(configure));
            return services.AddSftpServer((_, server) => configure(server));
        }
    }
}
