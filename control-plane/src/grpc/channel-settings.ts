/**
 * gRPC channel settings shared with the Python worker: both read proto/channel-settings.json, so message limits
 * and keepalive always agree (docs/grpc-settings.md).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChannelOptions } from '@grpc/grpc-js';

export interface ChannelSettings {
  maxMessageBytes: number;
  adapterChunkBytes: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  keepalivePermitWithoutCalls: number;
}

const SETTINGS_PATH = fileURLToPath(new URL('../../../proto/channel-settings.json', import.meta.url));

let cached: ChannelSettings | undefined;

export function channelSettings(): ChannelSettings {
  if (!cached) {
    const raw = JSON.parse(readFileSync(SETTINGS_PATH, 'utf8')) as Record<string, number>;
    cached = {
      maxMessageBytes: raw.max_message_bytes,
      adapterChunkBytes: raw.adapter_chunk_bytes,
      keepaliveTimeMs: raw.keepalive_time_ms,
      keepaliveTimeoutMs: raw.keepalive_timeout_ms,
      keepalivePermitWithoutCalls: raw.keepalive_permit_without_calls,
    };
  }
  return cached;
}

export function clientChannelOptions(): ChannelOptions {
  const s = channelSettings();
  return {
    'grpc.max_send_message_length': s.maxMessageBytes,
    'grpc.max_receive_message_length': s.maxMessageBytes,
    'grpc.keepalive_time_ms': s.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': s.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': s.keepalivePermitWithoutCalls,
  };
}
