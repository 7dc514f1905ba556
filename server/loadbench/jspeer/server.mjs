// The @a2a-js/sdk server the load benchmarks compare with: the SDK's own
// express app (v1.0 JSON-RPC), its in-memory task store, and an executor
// that answers the commands the benchmarks send the same way our demo
// agent does:
//
//   echo <text>  the task (submitted), working, an artifact "echo"
//                holding <text>, completed: 4 events, as our `echo`
//   burst <n>    the task, n working updates, completed
//
// It listens on 127.0.0.1 on a free port (or $PORT) and prints
// "jspeer serving at http://127.0.0.1:PORT/" on stderr once it accepts.
// It ends when its stdin closes (the benchmark stopping it or dying).
import express from 'express';
import { randomUUID } from 'node:crypto';
import { AGENT_CARD_PATH, TaskState, Role } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

function status(state, text, taskId, contextId) {
  return {
    state,
    message: text === undefined ? undefined : {
      messageId: randomUUID(), contextId, taskId, role: Role.ROLE_AGENT,
      parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }],
      metadata: undefined, extensions: [], referenceTaskIds: [],
    },
    timestamp: new Date().toISOString(),
  };
}

function textOf(message) {
  return (message?.parts ?? [])
    .filter((p) => p.content?.$case === 'text')
    .map((p) => p.content.value)
    .join('')
    .trim();
}

class DemoExecutor {
  async execute(ctx, bus) {
    const { taskId, contextId } = ctx;
    const user = ctx.userMessage;
    const text = textOf(user);
    const space = text.indexOf(' ');
    const cmd = space < 0 ? text : text.slice(0, space);
    const arg = space < 0 ? '' : text.slice(space + 1).trim();
    const update = (state, msg) => bus.publish(AgentEvent.statusUpdate({
      taskId, contextId, status: status(state, msg, taskId, contextId), metadata: undefined,
    }));
    bus.publish(AgentEvent.task({
      id: taskId, contextId, status: status(TaskState.TASK_STATE_SUBMITTED, undefined),
      artifacts: [], history: [user], metadata: undefined,
    }));
    switch (cmd) {
      case 'echo':
        update(TaskState.TASK_STATE_WORKING);
        bus.publish(AgentEvent.artifactUpdate({
          taskId, contextId, append: false, lastChunk: true, metadata: undefined,
          artifact: {
            artifactId: randomUUID(), name: 'echo', description: '', metadata: undefined, extensions: [],
            parts: [{ content: { $case: 'text', value: arg }, metadata: undefined, filename: '', mediaType: '' }],
          },
        }));
        update(TaskState.TASK_STATE_COMPLETED, 'echoed');
        break;
      case 'burst': {
        const n = Math.max(0, parseInt(arg, 10) || 1000);
        for (let i = 0; i < n; i++) update(TaskState.TASK_STATE_WORKING);
        update(TaskState.TASK_STATE_COMPLETED);
        break;
      }
      default:
        update(TaskState.TASK_STATE_REJECTED, 'jspeer commands: echo <text> | burst <n>');
    }
    bus.finished();
  }

  async cancelTask(taskId, bus) {
    bus.publish(AgentEvent.statusUpdate({
      taskId, contextId: '', status: status(TaskState.TASK_STATE_CANCELED, undefined), metadata: undefined,
    }));
    bus.finished();
  }
}

const app = express();
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}/`;
  const card = {
    name: 'jspeer', description: 'a2atop load benchmark peer (@a2a-js/sdk)', version: '1.0.0',
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }],
    provider: undefined,
    capabilities: { streaming: true, pushNotifications: false, extensions: [] },
    securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'], skills: [], signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), new DemoExecutor());
  app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: handler }));
  app.use('/', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  process.stderr.write(`jspeer serving at ${url}\n`);
});
server.keepAliveTimeout = 60_000;
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
