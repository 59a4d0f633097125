package cgroups

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// OOMKillCount returns how many processes of the cgroup the kernel's OOM
// killer has killed (v1 memory.oom_control, v2 memory.events "oom_kill").
func (m *Manager) OOMKillCount() (uint64, error) {
	if m.Mode == V1 {
		dir, ok := m.v1Dir("memory")
		if !ok {
			return 0, errNoController("memory")
		}
		kv, err := readKeyValues(dir, "memory.oom_control")
		if err != nil {
			return 0, err
		}
		return kv["oom_kill"], nil
	}
	dir, _ := m.v2Dir()
	kv, err := readKeyValues(dir, "memory.events")
	if err != nil {
		return 0, err
	}
	return kv["oom_kill"], nil
}

// NotifyOOM returns a channel that receives a value each time the cgroup
// runs out of memory, until done is closed or the cgroup is removed (then
// the channel is closed). v1 uses an eventfd registered through
// cgroup.event_control; v2 watches memory.events' oom_kill count.
func (m *Manager) NotifyOOM(done <-chan struct{}) (<-chan struct{}, error) {
	if m.Mode == V1 {
		return m.notifyOOMV1(done)
	}
	return m.notifyOOMV2(done)
}

func (m *Manager) notifyOOMV1(done <-chan struct{}) (<-chan struct{}, error) {
	dir, ok := m.v1Dir("memory")
	if !ok {
		return nil, errNoController("memory")
	}
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return nil, fmt.Errorf("open OOM control: %w", err)
	}
	defer ctl.Close()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := os.NewFile(uintptr(efd), "oom eventfd")
	if err := writeFile(dir, "cgroup.event_control", fmt.Sprintf("%d %d", efd, ctl.Fd())); err != nil {
		ev.Close()
		return nil, fmt.Errorf("register OOM notification: %w", err)
	}
	ch := make(chan struct{}, 16)
	go func() {
		<-done
		ev.Close()
	}()
	go func() {
		defer close(ch)
		buf := make([]byte, 8)
		for {
			if _, err := ev.Read(buf); err != nil {
				return
			}
			// The eventfd also fires when the cgroup is removed.
			if !exists(dir, "cgroup.event_control") {
				return
			}
			for n := binary.LittleEndian.Uint64(buf); n > 0; n-- {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, nil
}

// oomPollInterval is how often v2's memory.events is read.
const oomPollInterval = 100 * time.Millisecond

func (m *Manager) notifyOOMV2(done <-chan struct{}) (<-chan struct{}, error) {
	last, err := m.OOMKillCount()
	if err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 16)
	go func() {
		defer close(ch)
		t := time.NewTicker(oomPollInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			n, err := m.OOMKillCount()
			if errors.Is(err, os.ErrNotExist) {
				return
			}
			for ; err == nil && n > last; last++ {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, nil
}
