import NIOCore
import NIOSSH

/// What an SSH client asked a session channel to do.
enum SessionRequest: Sendable {
    /// `exec`: run `command`; `gitProtocol` is the `GIT_PROTOCOL` the client sent with `env`.
    case exec(command: String, gitProtocol: String?)
    /// `shell` (or a `pty` and then a shell): refused kindly.
    case shell
}

/// Reads a session channel's requests: keeps `GIT_PROTOCOL` from an `env` request and hands on
/// the first `exec` or `shell` through `request`, answering `want-reply` so that the client
/// goes on. A channel that asks for nothing within `deadline` is closed. Channel data passes
/// on untouched (to the `NIOAsyncChannel` behind it).
final class SessionRequestHandler: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData
    typealias InboundOut = SSHChannelData

    private let promise: EventLoopPromise<SessionRequest>
    private let deadline: TimeAmount
    private var gitProtocol: String?
    private var answered = false
    private var timeout: Scheduled<Void>?

    /// The request, once made; failed when the channel closes or times out first.
    var request: EventLoopFuture<SessionRequest> { promise.futureResult }

    init(eventLoop: any EventLoop, deadline: TimeAmount = .seconds(60)) {
        promise = eventLoop.makePromise()
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: deadline) { [promise] in
            promise.fail(ChannelError.inputClosed)
            channel.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer(nil)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let env as SSHChannelRequestEvent.EnvironmentRequest:
            // git sends `GIT_PROTOCOL=version=2`; other variables are ignored, as OpenSSH's AcceptEnv
            // does, and so is a value that is not git's `key=value:…` words (it becomes a header).
            if env.name == "GIT_PROTOCOL", env.value.utf8.count <= 256,
               env.value.utf8.allSatisfy({ $0 < 0x80 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber || "=:.,_-".utf8.contains($0)) }) {
                gitProtocol = env.value
            }
            if env.wantReply { context.channel.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil) }
        case let exec as SSHChannelRequestEvent.ExecRequest:
            if exec.wantReply { context.channel.triggerUserOutboundEvent(answered ? ChannelFailureEvent() : ChannelSuccessEvent(), promise: nil) }
            answer(.exec(command: exec.command, gitProtocol: gitProtocol))
        case let shell as SSHChannelRequestEvent.ShellRequest:
            if shell.wantReply { context.channel.triggerUserOutboundEvent(answered ? ChannelFailureEvent() : ChannelSuccessEvent(), promise: nil) }
            answer(.shell)
        case let pty as SSHChannelRequestEvent.PseudoTerminalRequest:
            // Granted, so that `ssh git@host` without `-T` reaches the friendly refusal.
            if pty.wantReply { context.channel.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil) }
        case let subsystem as SSHChannelRequestEvent.SubsystemRequest:
            // sftp and the like: not served.
            if subsystem.wantReply { context.channel.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil) }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func answer(_ request: SessionRequest?) {
        guard !answered else { return }
        answered = true
        timeout?.cancel()
        if let request { promise.succeed(request) } else { promise.fail(ChannelError.inputClosed) }
    }
}
