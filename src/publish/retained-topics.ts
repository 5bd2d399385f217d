/**
 * Retained state that ends: every retained topic this installation published (the device's status, scene, label,
 * health and info, and its Home Assistant discovery configs) is remembered in `state.dir`, so that a changed
 * `device.id` or `mqtt.topicPrefix`, or discovery turned off, clears what the old names left on the broker with an
 * empty retained message, instead of leaving a ghost device in every fleet view. `avscene forget ID` does the same for a
 * retired device from any machine (forget.ts).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../state/atomic-file.js';
import type { Topics } from './topics.js';

export interface RetainedMessage {
  topic: string;
  payload: string;
}

/** Where the topics are remembered, under `state.dir/mqtt/`; the second name is what earlier versions wrote (discovery configs only). */
const FILE = 'retained-topics.json';
const LEGACY_FILE = 'homeassistant-discovery.json';

/** The device's retained topics (`…/window` is not retained). */
export function retainedDeviceTopics(topics: Topics): string[] {
  return [topics.status, topics.info, topics.scene, topics.label, topics.health];
}

/**
 * The messages to send this run: an empty retained message for every topic published before and not now, then the
 * current ones (`announced`). `commit()` records `announced` and `published` (the topics the publisher keeps itself)
 * in `dir` once the broker has them.
 */
export function retainedUpdate(
  dir: string,
  announced: RetainedMessage[],
  published: string[],
): { messages: RetainedMessage[]; commit(): void } {
  const now = new Set([...announced.map((m) => m.topic), ...published]);
  const removals = [...new Set([...remembered(path.join(dir, FILE)), ...remembered(path.join(dir, LEGACY_FILE))])]
    .filter((topic) => !now.has(topic))
    .map((topic) => ({ topic, payload: '' }));
  return {
    messages: [...removals, ...announced],
    commit: () => {
      writeFileAtomic(path.join(dir, FILE), JSON.stringify({ topics: [...now] }, null, 1) + '\n');
      rmSync(path.join(dir, LEGACY_FILE), { force: true });
    },
  };
}

function remembered(file: string): string[] {
  if (!existsSync(file)) return [];
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { topics?: unknown };
    return Array.isArray(parsed.topics) ? parsed.topics.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}
